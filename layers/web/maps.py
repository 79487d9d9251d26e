"""The folium map frame every map page shares: options, the app's own Leaflet, layers
filled from the API, the legend, and the parts a Jinja page places.

The page never inlines layer data: each layer is an empty FeatureGroup that
static/js/huaishu-map.js fills from the GeoJSON API, building popups and
tooltips with textContent so that no text from data is ever parsed as HTML.
Every asset is served by the app itself (see `local_assets`). The overview's own
parts are in layers/planners/maps.py, the leaders' map in layers/review/maps.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import Figure, MacroElement
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import escape

from layers.catalogue.entries import Layer
from layers.catalogue.live import shown_live_properties
from layers.catalogue.styles import community_field, field_label, field_unit, leaflet_style, theme

POPUP_MAX_WIDTH_PX = 360  # pixels: a relative width wraps Chinese text per character
POPUP_MIN_WIDTH_PX = 220
PANE_Z_BASE = 410  # Leaflet's overlay pane is 400, markers 600


@dataclass(frozen=True)
class MapOptions:
    static_url: str = "/static"  # where the app serves static/
    api_url: str = "/api"
    # The basemap switch (layers.basemaps.choices.basemap_choices); none: no basemap at all.
    basemaps: Sequence[dict[str, Any]] = ()
    # Clustered point layers with more features than this are clustered by the server
    # (/api/layers/<name>/clusters, refetched as the map moves), not in the browser.
    server_cluster_threshold: int = 5000
    # Other layers with more features than this are drawn from vector tiles
    # (/ogc/collections/<name>/tiles, leaflet.vectorgrid), not fetched whole.
    vector_tile_threshold: int = 20000
    ogc_url: str = "/ogc"


def vendor_js(options: MapOptions) -> list[tuple[str, str]]:
    return [("leaflet", f"{options.static_url}/node_modules/leaflet/dist/leaflet.js")]


def vendor_css(options: MapOptions) -> list[tuple[str, str]]:
    return [("leaflet_css", f"{options.static_url}/node_modules/leaflet/dist/leaflet.css")]


def local_assets(m: folium.Map, options: MapOptions) -> None:
    """Point folium at the app's own Leaflet instead of its public CDNs.

    folium's defaults also pull jQuery, Bootstrap and Awesome Markers, which
    nothing on our pages uses.
    """
    m.default_js = vendor_js(options)
    m.default_css = vendor_css(options)


class ApiLayer(MacroElement):
    """Fills its parent FeatureGroup from the layer API when the page loads."""

    _template = Template("""
{% macro script(this, kwargs) %}
HuaishuMap.addLayer({{ this._parent.get_name() }}, {{ this.config_json }});
{% endmacro %}
""")

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self._name = "ApiLayer"
        self.config_json = htmlsafe_json_dumps(config)


def layer_config(layer: Layer, options: MapOptions, count: int, *, themed: bool = False,
                 cluster: bool = False, pane: dict[str, Any] | None = None,
                 outline_pane: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the page script needs to draw a layer: where, how, and which fields.

    `themed` styles features by category (see presentation.theme), `cluster`
    clusters a point layer's markers, `pane` ({"name", "zIndex"}) fixes its
    drawing order, `outline_pane` (the same) draws the outlines once more, there.
    """
    popup_fields = (*layer.popup, *(f.name for f in shown_live_properties(layer)))
    return {
        "name": layer.name,
        "title": layer.title,
        "group": layer.group,
        "geometry": layer.geometry,
        "count": count,
        "url": f"{options.api_url}/layers/{layer.name}",
        "style": leaflet_style(layer),
        "popup": [popup_row(layer, name) for name in popup_fields],
        "tooltip": layer.tooltip,
        "popupMaxWidth": POPUP_MAX_WIDTH_PX,
        "popupMinWidth": POPUP_MIN_WIDTH_PX,
        "theme": theme(layer) if themed else None,
        "cluster": cluster and layer.geometry == "Point",
        "serverCluster": (cluster and layer.geometry == "Point"
                          and count > options.server_cluster_threshold),
        "clustersUrl": f"{options.api_url}/layers/{layer.name}/clusters",
        "vectorTiles": (count > options.vector_tile_threshold
                        and not (cluster and layer.geometry == "Point"
                                 and count > options.server_cluster_threshold)),
        "tilesUrl": f"{options.ogc_url}/collections/{layer.name}/tiles/WebMercatorQuad/"
                    "{z}/{y}/{x}",
        "pane": pane,
        "outlinePane": outline_pane,
        "communityField": community_field(layer),
    }


def popup_row(layer: Layer, name: str) -> dict[str, str]:
    """A popup row: the field's label, and the unit its value carries unless the label
    names it already ("泊位(个,示意)": 36, not 36 个)."""
    label, unit = field_label(layer, name), field_unit(layer, name)
    named = bool(unit) and re.search(rf"\({re.escape(unit)}[,)]", label) is not None
    return {"field": name, "label": label, "unit": "" if named else unit}


def layer_control_name(layer: Layer, count: int) -> str:
    """LayerControl inserts names as HTML: escape them."""
    return str(escape(f"{layer.title} ({count})"))


class Legend(MacroElement):
    """A static legend: a swatch per layer, and per value of the layers in `themed` (by
    category, in the catalogue's colours). The overview page builds its own in JS."""

    _template = Template("""
{% macro html(this, kwargs) %}
<div id="legend" class="hs-legend" aria-label="图例">
  <div class="hs-legend-title">图例</div>
  {% for row in this.rows %}
  <div class="hs-legend-row" data-layer="{{ row.name }}">
    <span class="hs-swatch hs-swatch-{{ row.geometry|lower }}"
          style="border-color: {{ row.color }}; background: {{ row.fill }}"></span>
    {{ row.title }}
  </div>
  {% for value in row['values'] %}
  <div class="hs-legend-row hs-legend-value" data-layer="{{ row.name }}"
       data-value="{{ value.value }}">
    <span class="hs-swatch hs-swatch-polygon"
          style="border-color: {{ value.color }}; background: {{ value.color }}"></span>
    {{ value.value }}
  </div>
  {% endfor %}
  {% endfor %}
</div>
{% endmacro %}
""")

    def __init__(self, layers: Sequence[Layer], themed: Sequence[str] = ()):
        super().__init__()
        self._name = "Legend"
        self.rows = []
        for layer in layers:
            styled = (theme(layer) if layer.name in themed else None) or {}
            values = styled["values"] if styled.get("kind") == "category" else []
            by = f"(按{layer.label(styled['field'])})" if values else ""
            self.rows.append({
                "name": escape(layer.name),
                "title": escape(layer.title + by),
                "geometry": escape(layer.geometry),
                "color": escape(layer.style.color),
                "fill": escape("transparent" if values else layer.style.fill_color
                               or "transparent"),
                "values": [{"value": escape(v["value"]), "color": escape(v["color"])}
                           for v in values],
            })


def render_parts(m: folium.Map) -> dict[str, str]:
    """The map's <head> assets, body HTML and script, for a Jinja page to place."""
    root = m.get_root()
    assert isinstance(root, Figure)
    root.render()
    return {
        "map_header": root.header.render(),
        "map_html": root.html.render(),
        "map_script": root.script.render(),
    }
