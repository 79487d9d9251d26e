"""The OpenAPI section of the leaders' review API (review.py): the tables of land parcels
and project sites with their exports and surroundings, and the figures of the year.

The Flask rules take `<any(parcels, projects):kind>`; the document has a path
for each kind, with that kind's columns, statuses and totals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from layers.catalogue.entries import GARBAGE_KINDS, MEASURE_LABELS, FieldType, Layer
from layers.review.figures import CHART_TYPES, QUALIFIERS
from layers.review.sites import IDLE, TABLES
from layers.review.surroundings import (
    DEFAULT_DISTANCE_M,
    MAX_DISTANCE_M,
    MIN_DISTANCE_M,
    SITE_LAYERS,
)
from layers.web.openapi_helpers import (
    COUNT,
    METRES,
    Schema,
    Section,
    array,
    camel,
    choices,
    enum,
    field_schema,
    json_content,
    layer_of,
    nullable,
    number,
    obj,
    operation,
    path_param,
    query,
    ref,
    requires_login,
    string,
)

TAG = "review"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXAMPLE_SITES = {"parcels": "P01", "projects": "J01"}  # of the shipped data
ORDERS = ("asc", "desc")
SHARE = number("share, 0 to 1", minimum=0, maximum=1)
# The money totals of the projects' table (万元).
INVESTMENT_TOTALS = ("investment_plan_wan", "investment_to_date_wan", "investment_2022_wan")


def _row(layer: Layer) -> Schema:
    """A table row: the feature's id and the table's fields (None where unknown)."""
    columns: dict[str, Schema] = {"id": string()}
    for name in TABLES[layer.name].fields:
        if name in MEASURE_LABELS:
            columns[name] = number(MEASURE_LABELS[name] + ", EPSG:4548", minimum=0)
        elif name == "investment_progress_pct":
            columns[name] = nullable(number("累计完成投资占计划(%)", minimum=0))
        elif name == "delay":
            columns[name] = nullable(string("how late the project is (逾期N年M个月), counted "
                                            "from the end of its expected year; null if not"))
        else:
            columns[name] = field_schema(layer.field(name))
    required = list(columns)
    if layer.name == "parcels":  # only on a parcel that is part of another one
        columns["part_of"] = string("the parcel this one is part of (八里桥片区)")
    return obj(columns, required=required)


def _totals(layer: Layer) -> Schema:
    statuses = layer.field("status").choices
    area = {"area_m2": number(minimum=0), "area_mu": number(minimum=0)}
    totals: dict[str, Schema] = {
        "count": COUNT, **area,
        "by_status": obj({s: obj({"count": COUNT, **area}) for s in statuses},
                         description="every status, in the catalogue's order"),
    }
    if layer.name == "parcels":
        totals |= {"idle_count": COUNT, "idle_area_mu": number(minimum=0),
                   "idle_area_m2": number(minimum=0)}
    else:
        totals |= {key: number(layer.label(key), minimum=0) for key in INVESTMENT_TOTALS}
    return obj(totals)


def _table(layer: Layer) -> Schema:
    statuses = list(layer.field("status").choices)
    fields = list(TABLES[layer.name].fields)
    column_types = [*get_args(FieldType), "pct"]
    return obj({
        "layer": enum([layer.name]), "title": string(),
        "columns": array(obj({"field": enum(fields), "label": string(),
                              "type": enum(column_types), "unit": string()})),
        "statuses": array(enum(statuses)),
        "rows": array(ref(f"{camel(layer.name)}TableRow")),
        "query": obj({"status": nullable(array(enum(statuses))), "sort": enum(fields),
                      "order": enum(ORDERS)}),
        "totals": _totals(layer),
    })


def _surroundings(catalogue: Sequence[Layer]) -> Schema:
    site_layer = enum(SITE_LAYERS)
    item = {"id": string(), "name": string()}
    feature = obj({
        "type": enum(["Feature"]), "id": string("layer/id"), "geometry": ref("Geometry"),
        "properties": obj({"layer": string(), "layer_title": string(), "id": string(),
                           "name": string(), "kind": string(), "distance_m": METRES}),
    })
    return obj({
        "site": obj({"layer": site_layer, **item, "status": nullable(string()),
                     "area_m2": nullable(number(minimum=0)),
                     "area_mu": nullable(number(minimum=0))}),
        "distance_m": METRES,
        "buffer": ref("Geometry"),
        "communities": array(obj({
            **item, "households": COUNT, "area_within_m2": number(minimum=0),
            "share": SHARE, "share_pct": number("share in per cent, to 0.1", minimum=0),
            "households_estimate": COUNT}),
            "communities within reach, most households first"),
        "households_estimate": COUNT,
        "households_note": string("how households are estimated"),
        "venues": obj({
            "count": COUNT,
            "by_kind": array(obj({"category": enum(choices(catalogue, "venues", "category")),
                                  "kind": enum(choices(catalogue, "venues", "kind")),
                                  "count": COUNT})),
            "items": array(obj({**item,
                                "category": enum(choices(catalogue, "venues", "category")),
                                "kind": enum(choices(catalogue, "venues", "kind")),
                                "address": string(), "distance_m": METRES})),
        }),
        "parking": obj({"count": COUNT, "spaces": COUNT, "items": array(obj({
            **item, "kind": enum(choices(catalogue, "parking", "kind")), "spaces": COUNT,
            "distance_m": METRES}))}),
        "garbage": obj({"count": COUNT, "bins": COUNT, "items": array(obj({
            **item, "bins": COUNT, "kinds": array(enum(GARBAGE_KINDS)),
            "distance_m": METRES}))}),
        "sites": array(obj({"layer": site_layer, "layer_title": string(), **item,
                            "status": string(), "distance_m": METRES}),
                       "other parcels and project sites, nearest first"),
        "nearest_main_road": obj({**item, "kind": string(), "distance_m": METRES,
                                  "line": ref("Geometry")}, nullable=True),
        "features": obj({"type": enum(["FeatureCollection"]), "features": array(feature)},
                        description="what lies within reach, for drawing (WGS84)"),
    })


def _figures() -> Schema:
    text = string(minLength=1)
    figure = obj({
        "id": string(pattern="^[a-z][a-z0-9_]*$"), "label": text, "unit": text,
        "value": number(minimum=0),
        "plan_pct": number("per cent of the year's plan"),
        "yoy_pct": number("growth on the year before, per cent"),
        "qualifier": enum(QUALIFIERS, "余: more than, 近: nearly"),
        "quote": string("the document's wording"),
        "derived": string("how the value was worked out from the document"),
    }, required=["id", "label", "unit", "value"])
    return obj({
        "title": text, "period": text,
        "source": obj({"document": text}, description="the document the figures come from"),
        "note": string(),
        "groups": array(obj({"id": string(), "title": text,
                             "figures": array(figure, minItems=1)},
                            required=["title", "figures"]), minItems=1),
        "highlights": array(string(), "ids of the figures to show first"),
        "charts": array(obj({"id": string(), "title": text, "type": enum(CHART_TYPES),
                             "figures": array(string(), "figure ids", minItems=1),
                             "unit": string()}, required=["title", "type", "figures"])),
    }, required=["title", "period", "source", "groups"])


def review_section(catalogue: Sequence[Layer]) -> Section:
    paths: dict[str, Schema] = {}
    schemas: dict[str, Schema] = {"Surroundings": _surroundings(catalogue),
                                  "Figures": _figures()}
    for kind in SITE_LAYERS:
        layer = layer_of(catalogue, kind)
        name = camel(kind)
        table = TABLES[kind]
        statuses = list(layer.field("status").choices)
        filters = [
            query("status", array(enum(statuses), minItems=1),
                  "only rows of these statuses, comma-separated", explode=False),
            query("sort", enum(table.fields), f"the column to sort by (default "
                  f"{table.default_sort}, largest first); empty values last"),
            query("order", enum(ORDERS), "asc or desc (default asc when sort is given)"),
        ]
        schemas[f"{name}TableRow"] = _row(layer)
        schemas[f"{name}Table"] = _table(layer)
        paths[f"/api/{kind}"] = operation(
            TAG, f"get{name}Table", f"{layer.title}: the table with totals",
            parameters=filters, ok=json_content(ref(f"{name}Table")),
            description="`columns` with Chinese labels and units, the `rows`, `totals` "
                        "(count, m², 亩, by status; "
                        + (f"{IDLE} parcels and their area" if kind == "parcels"
                           else "the investment sums") + ") and the `query` as understood.")
        paths[f"/api/{kind}/export.csv"] = operation(
            TAG, f"export{name}Csv", f"{layer.title}: the table as CSV",
            parameters=filters, ok={"text/csv": {"schema": string()}},
            ok_description="UTF-8 with BOM, Chinese headers, as an attachment")
        paths[f"/api/{kind}/export.xlsx"] = operation(
            TAG, f"export{name}Xlsx", f"{layer.title}: the table as XLSX",
            parameters=filters, ok={XLSX: {"schema": string(format="binary")}},
            ok_description="the table and a 汇总 sheet of totals, as an attachment")
        paths[f"/api/{kind}/{{feature_id}}/surroundings"] = operation(
            TAG, f"get{name}Surroundings", f"{layer.title}: what lies within a distance",
            parameters=[
                path_param("feature_id", string(), f"the id of the {kind} feature",
                           example=EXAMPLE_SITES[kind]),
                query("distance", number(minimum=MIN_DISTANCE_M, maximum=MAX_DISTANCE_M,
                                         default=DEFAULT_DISTANCE_M), "metres from the site"),
            ],
            ok=json_content(ref("Surroundings")), error_codes=(400, 404),
            description="Communities and their estimated households, venues by kind, "
                        "parking (spaces), garbage points (bins), other sites and the nearest "
                        "主干路 within `distance` (EPSG:4548); `buffer` and `features` in WGS84 "
                        "for drawing.")
    paths["/api/figures"] = operation(
        TAG, "getFigures", "The figures of the year (the dashboard's data)",
        ok=json_content(ref("Figures")), error_codes=())
    per_community = obj({"community": string(), "venues": COUNT, "open_hazards": COUNT,
                         "rectification_overdue": COUNT, "inspection_overdue": COUNT})
    paths["/api/records/figures"] = operation(
        TAG, "getRecordFigures", "The records' live figures beside the year's (the dashboard)",
        ok=json_content(obj({
            "date": string(format="date"),
            "inspections_this_year": COUNT, "inspections_this_month": COUNT,
            "open_hazards": COUNT, "rectification_overdue": COUNT, "inspection_overdue": COUNT,
            "labels": obj({"rectification_overdue": string(), "inspection_overdue": string()}),
            "by_community": array(per_community, "every community, then any venue without"),
            "lists": obj({"rectification_overdue": string("the list on /inspect"),
                          "inspection_overdue": string("the list on /inspect")}),
        })), error_codes=(),
        description="Counted now from the records: inspections dated this year and this "
                    "month; venues with a hazard past its deadline (超期未整改) and venues "
                    "not inspected within their interval (逾期未检), by community.")
    count_of = lambda key, schema: array(obj({key: schema, "count": COUNT}))  # noqa: E731
    paths["/api/hotline"] = operation(
        TAG, "getHotline", "The 12345 work orders of 2022 by month, community and category",
        ok=json_content(obj({
            "total": COUNT,
            "rates": obj({k: number(minimum=0, maximum=100) for k in
                          ("answered", "closed", "satisfied")}, required=[]),
            "by_month": count_of("month", string()),
            "by_community": array(obj({"community": string(), "count": COUNT,
                                       "per_km2": nullable(number(minimum=0))})),
            "by_category": count_of("category", string()),
            "illustrative": {"type": "boolean"},
        })), error_codes=(),
        description="The total and the rates are the document's; months, communities and "
                    "categories come from the illustrative positions and dates.")
    return Section(TAG, "The leaders' review (roles leader and admin): tables of land parcels "
                        "and project sites, their exports and surroundings, and the figures of "
                        "the year",
                   requires_login(paths, [{"cookieAuth": []}]), schemas)
