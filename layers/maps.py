"""Folium map builders: pure functions from the layer store and options to a map.

The page never inlines layer data: each layer is an empty FeatureGroup that
static/js/huaishu-map.js fills from the GeoJSON API, building popups and
tooltips with textContent so that no text from data is ever parsed as HTML.
Every asset is served by the app itself (see `local_assets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import Figure, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import escape

from .catalogue import Layer
from .store import LayerStore

POPUP_MAX_WIDTH_PX = 360  # pixels: a relative width wraps Chinese text per character


@dataclass(frozen=True)
class MapOptions:
    static_url: str = "/static"  # where the app serves static/
    api_url: str = "/api"


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


class _AppAssets(JSCSSMixin, MacroElement):
    """The app's own map script and styles, added once to a map."""

    _template = Template("""
{% macro script(this, kwargs) %}
HuaishuMap.setMap({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, options: MapOptions):
        super().__init__()
        self._name = "AppAssets"
        self.default_js = [("huaishu_map", f"{options.static_url}/js/huaishu-map.js")]
        self.default_css = [("huaishu_map_css", f"{options.static_url}/css/map.css")]


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


def layer_config(layer: Layer, options: MapOptions, count: int) -> dict[str, Any]:
    """What the page script needs to draw a layer: where, how, and which fields."""
    style = layer.style
    return {
        "name": layer.name,
        "title": layer.title,
        "geometry": layer.geometry,
        "count": count,
        "url": f"{options.api_url}/layers/{layer.name}",
        "style": {
            "color": style.color,
            "fillColor": style.fill_color or style.color,
            "weight": style.weight,
            "fillOpacity": style.fill_opacity,
            "radius": style.radius,
            "dashArray": style.dash_array,
        },
        "popup": [
            {"field": name, "label": layer.label(name), "unit": _unit(layer, name)}
            for name in layer.popup
        ],
        "tooltip": layer.tooltip,
        "popupMaxWidth": POPUP_MAX_WIDTH_PX,
    }


def _unit(layer: Layer, name: str) -> str:
    return next((f.unit for f in layer.fields if f.name == name), "")


def layer_control_name(layer: Layer, count: int) -> str:
    """LayerControl inserts names as HTML: escape them."""
    return str(escape(f"{layer.title} ({count})"))


class Legend(MacroElement):
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
  {% endfor %}
</div>
{% endmacro %}
""")

    def __init__(self, layers: Sequence[Layer]):
        super().__init__()
        self._name = "Legend"
        self.rows = [
            {
                "name": escape(layer.name),
                "title": escape(layer.title),
                "geometry": escape(layer.geometry),
                "color": escape(layer.style.color),
                "fill": escape(layer.style.fill_color or "transparent"),
            }
            for layer in layers
        ]


def overview_map(store: LayerStore, options: MapOptions | None = None) -> folium.Map:
    """The whole sub-district, every layer, with layer control and legend."""
    options = options or MapOptions()
    boundary = store.get("boundary")
    minx, miny, maxx, maxy = boundary.bbox or (116.95, 36.65, 116.98, 36.69)
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=15,
        tiles=None,
        control_scale=True,
    )
    local_assets(m, options)
    _AppAssets(options).add_to(m)
    add_basemaps(m)
    shown = []
    for loaded in store:
        layer = loaded.layer
        group = folium.FeatureGroup(name=layer_control_name(layer, len(loaded)), show=True)
        ApiLayer(layer_config(layer, options, len(loaded))).add_to(group)
        group.add_to(m)
        shown.append(layer)
    Legend(shown).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    folium.LayerControl(collapsed=False).add_to(m)  # last, so it lists every layer
    return m


def add_basemaps(m: folium.Map) -> None:
    """Base layers: none (offline, the default) and OpenStreetMap."""
    folium.FeatureGroup(name="无底图(离线)", overlay=False, show=True).add_to(m)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", overlay=False, show=False).add_to(m)


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
