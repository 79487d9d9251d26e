"""HTML pages (zh-CN): the planners' one map (一张图) and its print view."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for

from layers.basemaps.routes import get_basemaps, page_basemaps
from layers.errors import BadRequest
from layers.planners.analysis import COVERAGE_LABELS, get_indicator
from layers.planners.editing import edit_config
from layers.planners.maps import HIDDEN_AT_START, overview_map, page_config
from layers.planners.view_export import parse_selection
from layers.web.context import get_store, today
from layers.web.maps import MapOptions, render_parts

bp = Blueprint("pages", __name__)

TITLE = "中大槐树街道一张图"
MAX_TITLE_LENGTH = 60


def map_options() -> MapOptions:
    return MapOptions(static_url=url_for("static", filename="").rstrip("/"),
                      api_url=url_for("api.list_layers").rsplit("/", 1)[0],
                      basemaps=page_basemaps(),
                      server_cluster_threshold=int(current_app.config["SERVER_CLUSTER_THRESHOLD"]),
                      vector_tile_threshold=int(current_app.config["VECTOR_TILE_THRESHOLD"]),
                      ogc_url=url_for("ogc.landing").rstrip("/"))


def _config() -> dict[str, Any]:
    options = map_options()
    return {**page_config(get_store(), options.api_url), "printUrl": url_for("pages.print_view")}


def _editable_config() -> dict[str, Any]:
    """The overview's configuration, with the editor's for those who may edit."""
    return {**_config(), "edit": edit_config(get_store())}


@bp.get("/")
def index():
    options = map_options()
    m = overview_map(get_store(), options)
    return render_template("planners/map.html", title=TITLE, page_config=_editable_config(),
                           basemap_names=get_basemaps().names(), **render_parts(m))


def print_state(args: Any) -> dict[str, Any]:
    """What the print view shows, from its query string; BadRequest naming a bad value."""
    store = get_store()
    # No `layers`: the layers the overview opens with (a bare /print); `layers=` (empty):
    # none, a choropleth alone, say.
    names = args.get("layers")
    opening = [n for n in store.names() if n not in HIDDEN_AT_START]
    selection = parse_selection({**args, "layers": names or ",".join(opening)}, store)
    indicator = args.get("indicator") or None
    if indicator is not None:
        get_indicator(indicator)
    coverage = [c for c in (args.get("coverage") or "").split(",") if c]
    unknown = [c for c in coverage if c not in COVERAGE_LABELS]
    if unknown:
        raise BadRequest(f"未知覆盖分析 {', '.join(unknown)} (coverage: "
                         f"{', '.join(COVERAGE_LABELS)})")
    basemap = args.get("basemap") or "none"
    known = get_basemaps().keys()
    if basemap not in known:
        raise BadRequest(f"未知底图 {basemap!r} (basemap: {', '.join(known)})")
    title = (args.get("title") or TITLE).strip() or TITLE
    if len(title) > MAX_TITLE_LENGTH:
        raise BadRequest(f"标题过长,最多 {MAX_TITLE_LENGTH} 个字 (title is too long)")
    return {
        "layers": list(selection.layers) if names != "" else [],
        "community": selection.community,
        "bbox": list(selection.bbox) if selection.bbox else None,
        "indicator": indicator,
        "coverage": coverage,
        "basemap": basemap,
        "title": title,
    }


@bp.get("/print")
def print_view():
    """A printable map (A4 landscape): title, legend, scale bar, north arrow and date."""
    state = print_state(request.args)
    m = overview_map(get_store(), map_options(), controls=False)
    return render_template("planners/print.html", title=state["title"], notes=print_notes(state),
                           page_config={**_config(), "state": state},
                           date=today(), **render_parts(m))


def print_notes(state: dict[str, Any]) -> list[str]:
    """What the printed map is filtered to and which analyses it shows, in words."""
    notes = []
    if state["community"]:
        notes.append(f"范围:{state['community']}")
    if state["indicator"]:
        indicator = get_indicator(state["indicator"])
        notes.append(f"社区分级设色:{indicator.label}({indicator.unit})")
    notes += [COVERAGE_LABELS[key] for key in state["coverage"]]
    return notes
