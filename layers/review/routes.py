"""The leaders' review: land parcels, project sites, briefs and the figures of the year.

Pages: /parcels, /projects, /<kind>/<id>/brief (print view), /<kind>/<id>/brief.pdf,
/dashboard. JSON: /api/<kind> (table), /api/<kind>/export.csv|.xlsx,
/api/<kind>/<id>/surroundings, /api/figures. Routes stay thin: the work is in
sites, surroundings, table_export, brief, brief_pdf and figures.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    render_template,
    request,
    send_file,
    url_for,
)

from layers.basemaps.routes import (
    chosen_basemap,
    extract_underlay,
    get_basemaps,
    get_proxy,
    page_basemaps,
    tile_url,
)
from layers.basemaps.underlay import Underlay, fetch_images
from layers.catalogue.entries import get_layer
from layers.catalogue.styles import leaflet_style, status_colors
from layers.catalogue.values import format_value
from layers.data.tables import to_csv, to_xlsx
from layers.records.summary import live_figures
from layers.review import sites
from layers.review.brief import make_brief
from layers.review.brief_pdf import brief_pdf
from layers.review.figures import load_figures
from layers.review.hotline import hotline_summary
from layers.review.maps import sites_map
from layers.review.surroundings import (
    DEFAULT_DISTANCE_M,
    MAX_DISTANCE_M,
    MIN_DISTANCE_M,
    Surroundings,
    parse_distance,
)
from layers.web.context import get_inspections, get_store, live_properties, today
from layers.web.maps import MapOptions, render_parts

bp = Blueprint("review", __name__)
bp.add_app_template_filter(format_value, "zh")  # 12,345 / 是 / 否 in templates

KIND = "<any(parcels, projects):kind>"
PAGE_TITLES = {"parcels": "闲置土地与地块", "projects": "重点项目与场所"}
EXPORT_NAMES = {"parcels": "土地地块台账", "projects": "项目台账"}
# Layers on each page's map, bottom to top.
MAP_LAYERS = {
    "parcels": ("boundary", "communities", "roads", "projects", "parcels"),
    "projects": ("boundary", "communities", "roads", "parcels", "projects"),
}


def init_app(app: Flask) -> None:
    """Index the main roads and load the figures of the year, once; add the routes."""
    app.extensions["surroundings"] = Surroundings(app.extensions["layer_store"])
    app.extensions["figures"] = load_figures(Path(app.config["FIGURES_FILE"]))
    app.register_blueprint(bp)


def get_surroundings() -> Surroundings:
    """The queries around sites over the layer store being served: a reload after an
    import swaps the store (layers/data/reload.py), and the main roads are indexed again."""
    store = current_app.extensions["layer_store"]
    found: Surroundings = current_app.extensions["surroundings"]
    if found.store is not store:
        found = current_app.extensions["surroundings"] = Surroundings(store)
    return found


# -------------------------------------------------------------------- pages
@bp.get(f"/{KIND}")
def sites_page(kind: str):
    store = get_store()
    options = MapOptions(static_url=url_for("static", filename="").rstrip("/"),
                         api_url=url_for("api.list_layers").rsplit("/", 1)[0],
                         basemaps=page_basemaps())
    layer = store.get(kind).layer
    config = {
        "kind": kind,
        "title": layer.title,
        "tableUrl": url_for("review.site_table", kind=kind),
        "csvUrl": url_for("review.export_csv", kind=kind),
        "xlsxUrl": url_for("review.export_xlsx", kind=kind),
        "surroundingsUrl": url_for("review.surroundings", kind=kind,
                                         feature_id="__ID__"),
        "briefUrl": url_for("review.brief_page", kind=kind, feature_id="__ID__"),
        "pdfUrl": url_for("review.brief_pdf_file", kind=kind, feature_id="__ID__"),
        "statuses": list(layer.field("status").choices),
        "statusColors": status_colors(layer),
        "distance": {"default": DEFAULT_DISTANCE_M, "min": MIN_DISTANCE_M,
                     "max": MAX_DISTANCE_M},
        # The catalogue's styles of what the surroundings draw.
        "styles": {name: leaflet_style(get_layer(name))
                   for name in ("venues", "garbage", "parking", "parcels", "projects")},
    }
    parts = render_parts(sites_map(store, MAP_LAYERS[kind], options))
    return render_template("review/sites.html", title=PAGE_TITLES[kind], kind=kind, config=config,
                           **parts)


@bp.get(f"/{KIND}/<feature_id>/brief")
def brief_page(kind: str, feature_id: str):
    distance = parse_distance(request.args.get("distance"))
    source = chosen_basemap(request.args.get("basemap"))
    brief = make_brief(get_surroundings(), kind, feature_id, distance, today())
    underlay = _underlay(brief, source)
    return render_template("review/brief.html", title=brief.title, brief=brief,
                           distances=_distance_choices(distance), underlay=underlay,
                           basemap=source.key if source else "none",
                           basemaps=[(s.key, s.name) for s in get_basemaps().sources if s.proxy],
                           tile_url=tile_url)


@bp.get(f"/{KIND}/<feature_id>/brief.pdf")
def brief_pdf_file(kind: str, feature_id: str):
    distance = parse_distance(request.args.get("distance"))
    source = chosen_basemap(request.args.get("basemap"))
    brief = make_brief(get_surroundings(), kind, feature_id, distance, today())
    underlay = _underlay(brief, source)
    images = fetch_images(get_proxy(), underlay) if underlay is not None else None
    pdf = brief_pdf(brief, underlay if images is not None else None, images or {},
                    basemap_failed=underlay is not None and images is None)
    return send_file(io.BytesIO(pdf), mimetype="application/pdf",
                     download_name=_file_name(f"{brief.name}简报.pdf"), as_attachment=False)


def _underlay(brief: Any, source: Any) -> Underlay | None:
    x = brief.extract
    return extract_underlay(source, x.bounds_m, x.width_mm, x.height_mm)


@bp.get("/dashboard")
def dashboard():
    return render_template("review/dashboard.html", title="2022年主要工作指标",
                           figures_url=url_for("review.figures"),
                           hotline_url=url_for("review.hotline"),
                           records_url=url_for("review.record_figures"),
                           projects_url=url_for("review.site_table", kind="projects"),
                           parcels_url=url_for("review.site_table", kind="parcels"))


def _distance_choices(current: float) -> list[float]:
    return sorted({100.0, 200.0, 300.0, 500.0, 800.0, 1000.0, current})


# ---------------------------------------------------------------------- API
def _table(kind: str) -> tuple[Any, list[sites.Column], list[dict[str, Any]], dict[str, Any]]:
    """The layer, columns, selected rows and their totals for the request's filters."""
    loaded = get_store().get(kind)
    layer = loaded.layer
    statuses = sites.parse_statuses(request.args.get("status"), layer)
    sort, descending = sites.parse_sort(request.args.get("sort"), request.args.get("order"),
                                        layer)
    chosen = sites.select(sites.rows(loaded, today()), statuses, sort, descending,
                          layer.field("status").choices)
    query = {"status": list(statuses) if statuses else None, "sort": sort,
             "order": "desc" if descending else "asc"}
    return layer, sites.columns(layer), chosen, {"query": query,
                                                  "totals": sites.totals(chosen, layer)}


@bp.get(f"/api/{KIND}")
def site_table(kind: str):
    layer, columns, chosen, extra = _table(kind)
    return jsonify({
        "layer": kind, "title": layer.title,
        "columns": [c.as_dict() for c in columns],
        "statuses": list(layer.field("status").choices),
        "statusColors": status_colors(layer),
        "rows": chosen, **extra,
    })


@bp.get(f"/api/{KIND}/export.csv")
def export_csv(kind: str):
    _, columns, chosen, _ = _table(kind)
    return send_file(io.BytesIO(to_csv(columns, chosen)), mimetype="text/csv",
                     as_attachment=True, download_name=_export_name(kind, "csv"))


@bp.get(f"/api/{KIND}/export.xlsx")
def export_xlsx(kind: str):
    layer, columns, chosen, extra = _table(kind)
    totals = extra["totals"]
    summary: list[tuple[str, Any]] = [("合计(块/个)", totals["count"]),
                                      ("总面积(平方米)", totals["area_m2"]),
                                      ("总面积(亩)", totals["area_mu"])]
    if kind == "parcels":
        summary += [("闲置地块(块)", totals["idle_count"]),
                    ("闲置面积(亩)", totals["idle_area_mu"])]
    else:
        summary += [("计划总投资合计(万元)", totals["investment_plan_wan"]),
                    ("累计完成投资合计(万元)", totals["investment_to_date_wan"]),
                    ("2022年完成投资合计(万元)", totals["investment_2022_wan"])]
    body = to_xlsx(columns, chosen, layer.title, summary)
    return send_file(io.BytesIO(body), as_attachment=True,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     download_name=_export_name(kind, "xlsx"))


def _file_name(name: str) -> str:
    """A download name without path separators or control characters."""
    return re.sub(r"[\x00-\x1f\x7f/\\]", "_", name)


def _export_name(kind: str, ext: str) -> str:
    return f"{EXPORT_NAMES[kind]}_{today().isoformat()}.{ext}"


@bp.get(f"/api/{KIND}/<feature_id>/surroundings")
def surroundings(kind: str, feature_id: str):
    distance = parse_distance(request.args.get("distance"))
    return jsonify(get_surroundings().around(kind, feature_id, distance))


@bp.get("/api/figures")
def figures():
    return jsonify(current_app.extensions["figures"])


@bp.get("/api/records/figures")
def record_figures():
    """The records' live figures (the dashboard's second part), counted now."""
    store = get_store()
    venues = store.get("venues")
    pairs = [(f["id"], f["properties"].get("community")) for f in venues.features]
    names = [f["properties"]["name"] for f in store.get("communities").features]
    figures = live_figures(get_inspections(), pairs, live_properties(venues) or {}, names,
                           today())
    lists = {"rectification_overdue": url_for("inspect.inspect_page", list="late"),
             "inspection_overdue": url_for("inspect.inspect_page", list="overdue")}
    return jsonify({**figures, "lists": lists})


@bp.get("/api/hotline")
def hotline():
    return jsonify(hotline_summary(get_store()))
