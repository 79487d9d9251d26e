"""The one-page brief of a parcel or project site: facts, surroundings, map extract.

The map extract is drawn from the EPSG:4548 geometries themselves, so it is
true to scale (Gauss-Kruger is conformal and its scale error here is under
0.01 %): a scale bar in metres is exact. It is a list of marks in millimetres
on the page (x right, y down) that the HTML print view draws as inline SVG
and the PDF (layers/review/brief_pdf.py) draws with reportlab: one drawing, two media.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely import Geometry
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon

from layers.catalogue.entries import Layer, get_layer
from layers.catalogue.values import format_value
from layers.review.sites import rows as table_rows
from layers.review.surroundings import Surroundings

MAP_WIDTH_MM = 180.0
MAP_HEIGHT_MM = 90.0
MAP_MARGIN = 0.08  # share of the reach's extent added around it
# The strip under the map that holds the scale bar and the north arrow, so that
# they cover nothing drawn on the map.
STRIP_MM = 11.0
LABEL_GAP_MM = 0.6  # kept free around each label; a label that would touch another is dropped
NICE_LENGTHS_M = (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000)
PX_TO_MM = 0.2  # line weights of the catalogue styles (screen pixels) on paper

SITE_COLOR = "#c0392b"
SITE_NAME_COLOR = "#4a235a"  # names of the other sites on the extract
REACH_COLOR = "#7b241c"
ROAD_LINK_COLOR = "#1f4e79"
COMMUNITY_COLOR = "#566573"
ROAD_COLOR = "#8c8c8c"


Parts = tuple[tuple[tuple[float, float], ...], ...]


@dataclass(frozen=True)
class Mark:
    """One thing drawn on the map extract, in millimetres (x right, y down)."""

    layer: str
    kind: str  # "area", "line" or "point"
    parts: Parts  # rings, line parts, or one point
    stroke: str
    fill: str | None = None
    fill_opacity: float = 0.0
    stroke_mm: float = 0.3
    dash_mm: tuple[float, ...] = ()
    radius_mm: float = 0.8

    @property
    def svg_path(self) -> str:
        closing = " Z" if self.kind == "area" else ""
        return " ".join(
            "M " + " L ".join(f"{x:.2f} {y:.2f}" for x, y in part) + closing
            for part in self.parts)

    @property
    def svg_dash(self) -> str:
        return " ".join(f"{d:g}" for d in self.dash_mm)


@dataclass(frozen=True)
class Label:
    text: str
    x: float
    y: float
    size_mm: float = 2.6
    color: str = "#333333"
    angle: float = 0.0  # degrees, clockwise on the page
    bold: bool = False


@dataclass(frozen=True)
class ScaleBar:
    length_m: int
    length_mm: float
    ratio: int  # 1 : ratio when printed at full size


@dataclass(frozen=True)
class LegendEntry:
    label: str
    kind: str  # "area", "line", "point"
    stroke: str
    fill: str | None = None
    dash: bool = False


@dataclass
class MapExtract:
    width_mm: float
    height_mm: float
    metres_per_mm: float
    marks: list[Mark] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    legend: list[LegendEntry] = field(default_factory=list)
    scale_bar: ScaleBar | None = None
    bounds_m: tuple[float, float, float, float] | None = None  # the frame, EPSG:4548
    strip_mm: float = STRIP_MM  # below the map: scale bar and north arrow

    @property
    def total_height_mm(self) -> float:
        return self.height_mm + self.strip_mm


@dataclass(frozen=True)
class Brief:
    layer: str
    layer_title: str
    id: str
    name: str
    facts: list[tuple[str, str]]
    around: dict[str, Any]
    extract: MapExtract
    distance_m: float
    generated: dt.date

    @property
    def lines(self) -> list[tuple[str, str]]:
        return summary_lines(self.around)

    @property
    def title(self) -> str:
        kind = "地块" if self.layer == "parcels" else "项目"
        return f"{kind}简报：{self.name}"


def make_brief(surroundings: Surroundings, layer_name: str, feature_id: str,
               distance_m: float, today: dt.date) -> Brief:
    around = surroundings.around(layer_name, feature_id, distance_m)
    loaded, position = surroundings.site(layer_name, feature_id)
    row = next(r for r in table_rows(loaded, today) if r["id"] == feature_id)
    props = {**loaded.features[position]["properties"], **row}
    return Brief(
        layer=layer_name, layer_title=loaded.layer.title, id=feature_id, name=props["name"],
        facts=facts(loaded.layer, props), around=around,
        extract=map_extract(surroundings, layer_name, feature_id, distance_m),
        distance_m=distance_m, generated=today,
    )


# ------------------------------------------------------------------- facts
FACT_EXTRAS = {  # derived facts, shown after the field they follow
    "investment_to_date_wan": ("investment_progress_pct", "累计完成投资占计划", "%"),
    "expected_completion": ("delay", "进度", ""),  # 逾期…, counted to the brief's date
}


def facts(layer: Layer, props: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of the site's fields in popup order, empty ones left out."""
    out = []
    for name in layer.popup:
        if name in ("name", "area_mu"):
            continue
        unit = next((f.unit for f in layer.fields if f.name == name), "")
        full = layer.label(name)  # the unit goes with the value; a 示意 mark stays
        label = full.split("(")[0] + ("(示意)" if "示意" in full else "")
        text = format_value(props.get(name), unit)
        if name == "area_m2":
            text = (f"{format_value(props.get('area_m2'), '平方米')}"
                    f"({format_value(props.get('area_mu'), '亩')})")
        if text:
            out.append((label, text))
        if name in FACT_EXTRAS:
            extra, extra_label, extra_unit = FACT_EXTRAS[name]
            text = format_value(props.get(extra), extra_unit)
            if text:
                out.append((extra_label, text))
    source = "是" if props.get("from_document") else "否(示意)"
    out.append(("见于2022年工作总结", source))
    return out


LIST_LIMIT = 6  # named items per line of the brief: it stays one page at any distance


def summary_lines(around: dict[str, Any]) -> list[tuple[str, str]]:
    """The surroundings as (label, text) lines, the same in the print view and the PDF."""
    venues, parking, garbage = around["venues"], around["parking"], around["garbage"]
    road = around["nearest_main_road"]
    by_kind = "、".join(f"{v['kind']} {v['count']}" for v in venues["by_kind"])
    lots = _named([f"{p['name']}({p['distance_m']:.0f}米,{p['spaces']}个)"
                   for p in parking["items"]])
    sites = _named([f"{s['name']}({s['status']},{s['distance_m']:.0f}米)"
                    for s in around["sites"]])
    return [
        ("安全监管场所", f"共 {venues['count']} 家" + (f":{by_kind}" if by_kind else "")),
        ("停车场", f"共 {parking['count']} 处,泊位 {parking['spaces']} 个(示意)" + (
            f":{lots}" if lots else "")),
        ("垃圾投放点", f"共 {garbage['count']} 处,垃圾桶 {garbage['bins']} 个(示意)"),
        ("最近主干路", f"{road['name']},距离 {road['distance_m']:.0f} 米" if road else "无"),
        ("其他地块与项目", sites or "无"),
    ]


def _named(items: list[str]) -> str:
    """The nearest few, then how many more."""
    shown = "、".join(items[:LIST_LIMIT])
    return shown + (f" 等 {len(items)} 处" if len(items) > LIST_LIMIT else "")


# --------------------------------------------------------------- map extract
def nice_scale_length(span_m: float) -> int:
    """The longest round length that fits a quarter of the map's width."""
    fitting = [n for n in NICE_LENGTHS_M if n <= span_m / 4]
    return fitting[-1] if fitting else NICE_LENGTHS_M[0]


class _Frame:
    """Metres (EPSG:4548) to millimetres on the page."""

    def __init__(self, bounds: tuple[float, float, float, float], width_mm: float,
                 height_mm: float):
        minx, miny, maxx, maxy = bounds
        dx, dy = (maxx - minx) * (1 + 2 * MAP_MARGIN), (maxy - miny) * (1 + 2 * MAP_MARGIN)
        self.scale = max(dx / width_mm, dy / height_mm)  # metres per millimetre
        self.width_mm, self.height_mm = width_mm, height_mm
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        self.minx = cx - width_mm / 2 * self.scale
        self.maxy = cy + height_mm / 2 * self.scale
        self.box = shapely.box(self.minx, self.maxy - height_mm * self.scale,
                               self.minx + width_mm * self.scale, self.maxy)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (round((x - self.minx) / self.scale, 2), round((self.maxy - y) / self.scale, 2))

    def coords(self, coords: Any) -> tuple[tuple[float, float], ...]:
        return tuple(self.xy(x, y) for x, y in coords)


def _parts(geom: Geometry, frame: _Frame) -> tuple[str, Parts]:
    if isinstance(geom, Polygon | MultiPolygon):
        polygons = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
        rings = [r for p in polygons for r in (p.exterior, *p.interiors)]
        return "area", tuple(frame.coords(r.coords) for r in rings if not r.is_empty)
    if isinstance(geom, LineString | MultiLineString):
        lines = geom.geoms if isinstance(geom, MultiLineString) else [geom]
        return "line", tuple(frame.coords(g.coords) for g in lines if not g.is_empty)
    if geom.geom_type == "Point":
        return "point", (frame.coords(geom.coords),)
    kinds = [_parts(g, frame) for g in getattr(geom, "geoms", [])]  # collections
    parts = tuple(p for k, ps in kinds if k == "area" for p in ps)
    return "area", parts


def map_extract(surroundings: Surroundings, layer_name: str, feature_id: str,
                distance_m: float, width_mm: float = MAP_WIDTH_MM,
                height_mm: float = MAP_HEIGHT_MM) -> MapExtract:
    """The map around a site: every layer clipped to the frame, the reach and the site."""
    store = surroundings.store
    loaded, position = surroundings.site(layer_name, feature_id)
    site = loaded.metric[position]
    reach = site.buffer(distance_m, quad_segs=32)
    frame = _Frame(reach.bounds, width_mm, height_mm)
    extract = MapExtract(width_mm, height_mm, frame.scale, bounds_m=frame.box.bounds)

    def add_layer(name: str, **overrides: Any) -> None:
        layer_data = store.get(name)
        style = layer_data.layer.style
        for i in sorted(layer_data.tree.query(frame.box, predicate="intersects").tolist()):
            if name == layer_name and layer_data.ids[i] == feature_id:
                continue
            geom = layer_data.metric[i]
            if layer_data.layer.geometry != "Point":
                geom = shapely.clip_by_rect(geom, *frame.box.bounds)
            if geom.is_empty:
                continue
            kind, parts = _parts(geom, frame)
            options = {
                "stroke": style.color, "fill": style.fill_color,
                "fill_opacity": style.fill_opacity, "stroke_mm": style.weight * PX_TO_MM,
                "dash_mm": tuple(float(v) * PX_TO_MM for v in (style.dash_array or "").split()),
                "radius_mm": style.radius * 0.15,
                **overrides,
            }
            if name == "roads" and layer_data.features[i]["properties"]["kind"] == "铁路":
                options.update(stroke="#222222", dash_mm=(2.0, 1.0), stroke_mm=0.6)
            extract.marks.append(Mark(name, kind, parts, **options))

    add_layer("communities", stroke=COMMUNITY_COLOR, fill="#eaeded", fill_opacity=0.35,
              stroke_mm=0.35, dash_mm=(1.5, 0.8))
    add_layer("roads", stroke=ROAD_COLOR, stroke_mm=1.2)
    for name in ("parking", "projects", "parcels"):
        add_layer(name)
    for name in ("garbage", "venues"):
        add_layer(name, stroke_mm=0.15)
    road = surroundings.nearest_main_road(site)
    if road is not None:
        roads = store.get("roads")
        link = shapely.shortest_line(site, roads.metric[roads.position(road["id"])])
        extract.marks.append(Mark("link", "line", _parts(link, frame)[1],
                                  stroke=ROAD_LINK_COLOR, stroke_mm=0.45, dash_mm=(1.2, 0.8)))
    extract.marks.append(Mark("reach", "area", _parts(reach, frame)[1], stroke=REACH_COLOR,
                              stroke_mm=0.5, dash_mm=(2.5, 1.2)))
    extract.marks.append(Mark("site", "area", _parts(site, frame)[1], stroke=SITE_COLOR,
                              fill=SITE_COLOR, fill_opacity=0.35, stroke_mm=0.8))
    extract.labels += _labels(surroundings, frame, layer_name, feature_id, site)
    extract.scale_bar = _scale_bar(frame, width_mm)
    extract.legend = _legend(layer_name, distance_m, road is not None)
    return extract


def _labels(surroundings: Surroundings, frame: _Frame, layer_name: str, feature_id: str,
            site: Geometry) -> list[Label]:
    """Names on the extract, most important first (the site, communities, roads, other
    sites); a label whose box would overlap one already placed, or leave the frame, is
    dropped."""
    store = surroundings.store
    candidates = []
    loaded, position = surroundings.site(layer_name, feature_id)
    name = loaded.features[position]["properties"]["name"]
    minx, miny, maxx, maxy = site.bounds
    x, y = frame.xy((minx + maxx) / 2, maxy)
    candidates.append(Label(name, x, max(4.0, y - 1.5), 3.4, SITE_COLOR, bold=True))
    communities = store.get("communities")
    for i in sorted(communities.tree.query(frame.box, predicate="intersects").tolist()):
        part = shapely.clip_by_rect(communities.metric[i], *frame.box.bounds).difference(site)
        if part.area < (12 * frame.scale) ** 2:
            continue  # too small a piece to carry a name
        x, y = frame.xy(*part.representative_point().coords[0])
        candidates.append(Label(communities.features[i]["properties"]["name"], x, y, 3.0,
                                COMMUNITY_COLOR, bold=True))
    roads = store.get("roads")
    for i in sorted(roads.tree.query(frame.box, predicate="intersects").tolist()):
        part = shapely.clip_by_rect(roads.metric[i], *frame.box.bounds)
        if part.is_empty or part.length < 30 * frame.scale:
            continue
        line = max(getattr(part, "geoms", [part]), key=lambda g: g.length)
        for at in (0.3, 0.7):  # two places along the line: one may be taken
            a, b = line.interpolate(at, normalized=True), line.interpolate(at + 0.02,
                                                                           normalized=True)
            (ax, ay), (bx, by) = frame.xy(a.x, a.y), frame.xy(b.x, b.y)
            angle = math.degrees(math.atan2(by - ay, bx - ax))
            angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
            candidates.append(Label(roads.features[i]["properties"]["name"], ax, ay, 2.6,
                                    "#333333", angle=round(angle, 1)))
    for other in ("projects", "parcels", "parking"):
        data = store.get(other)
        for i in sorted(data.tree.query(frame.box, predicate="intersects").tolist()):
            if other == layer_name and data.ids[i] == feature_id:
                continue
            part = shapely.clip_by_rect(data.metric[i], *frame.box.bounds)
            if part.is_empty or part.area < (6 * frame.scale) ** 2:
                continue
            x, y = frame.xy(*part.representative_point().coords[0])
            candidates.append(Label(data.features[i]["properties"]["name"], x, y, 2.3,
                                    SITE_NAME_COLOR))
    return place_labels(candidates, frame.width_mm, frame.height_mm)


def label_box(label: Label) -> tuple[float, float, float, float]:
    """The label's box on the page (min x, min y, max x, max y, in mm), turned with it.

    Chinese characters are about one em wide; other characters about half.
    """
    ems = sum(1.0 if ord(ch) > 0x2E7F else 0.55 for ch in label.text)
    half_w, half_h = ems * label.size_mm / 2 + 0.3, label.size_mm * 0.6
    turn = math.radians(label.angle)
    dx = abs(half_w * math.cos(turn)) + abs(half_h * math.sin(turn))
    dy = abs(half_w * math.sin(turn)) + abs(half_h * math.cos(turn))
    return label.x - dx, label.y - dy, label.x + dx, label.y + dy


def place_labels(candidates: list[Label], width_mm: float, height_mm: float) -> list[Label]:
    """The candidates, in order, that fit the frame and overlap no label placed before;
    a name is written once only where the same text is already placed nearby."""
    placed: list[tuple[Label, tuple[float, float, float, float]]] = []
    for label in candidates:
        box = label_box(label)
        if box[0] < 0 or box[1] < 0 or box[2] > width_mm or box[3] > height_mm:
            continue
        if any(box[0] < b[2] + LABEL_GAP_MM and b[0] < box[2] + LABEL_GAP_MM
               and box[1] < b[3] + LABEL_GAP_MM and b[1] < box[3] + LABEL_GAP_MM
               for _, b in placed):
            continue
        if any(p.text == label.text and math.dist((p.x, p.y), (label.x, label.y)) < 60
               for p, _ in placed):
            continue
        placed.append((label, box))
    return [label for label, _ in placed]


def _scale_bar(frame: _Frame, width_mm: float) -> ScaleBar:
    length_m = nice_scale_length(width_mm * frame.scale)
    return ScaleBar(length_m, round(length_m / frame.scale, 2),
                    ratio=int(round(frame.scale * 1000, -1)))


def _legend(layer_name: str, distance_m: float, with_road: bool) -> list[LegendEntry]:
    site = "本地块" if layer_name == "parcels" else "本项目"
    entries = [
        LegendEntry(site, "area", SITE_COLOR, SITE_COLOR),
        LegendEntry(f"{distance_m:g}米范围", "line", REACH_COLOR, dash=True),
        LegendEntry("社区界", "line", COMMUNITY_COLOR, dash=True),
        LegendEntry("道路", "line", ROAD_COLOR),
    ]
    for name in ("parking", "projects", "parcels", "garbage", "venues"):
        layer = get_layer(name)
        entries.append(LegendEntry(layer.title, "point" if layer.geometry == "Point" else "area",
                                   layer.style.color, layer.style.fill_color))
    if with_road:
        entries.append(LegendEntry("至最近主干路", "line", ROAD_LINK_COLOR, dash=True))
    return entries
