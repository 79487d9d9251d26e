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
from urllib.parse import quote

import folium
from branca.element import Figure, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import escape

from layers.catalogue.entries import Layer
from layers.catalogue.styles import COVERAGE_COLORS, field_label, field_unit, live_fields, theme
from layers.planners.analysis import COVERAGE_LABELS, INDICATORS
from layers.planners.view_export import community_field
from layers.stores.layers import LayerStore

POPUP_MAX_WIDTH_PX = 360  # pixels: a relative width wraps Chinese text per character
POPUP_MIN_WIDTH_PX = 220

# Layer-control groups of the overview page, in the order shown.
GROUP_ORDER = ("管理单元", "设施", "项目与土地", "安全", "底图")
# Drawing order, bottom to top. Outline-only polygons (boundary, grid) are not
# filled, so a click inside a community reaches the community.
DRAW_ORDER = ("communities", "grid", "roads", "parcels", "projects", "parking", "boundary",
              "garbage", "venues")
PANE_Z_BASE = 410  # Leaflet's overlay pane is 400, markers 600
# Borders drawn a second time, just above the layer that would hide them: community
# borders run along roads, whose wide lines cover them.
OUTLINE_ABOVE = {"communities": "roads"}
CLUSTERED = ("garbage", "venues", "shopfronts")  # point layers that cluster when zoomed out
# Wider clusters (pixels, zoomed out) for layers of many points close together.
CLUSTER_RADIUS = {"shopfronts": 110}
# Point layers drawn as a heat map (many points whose density is the message): Leaflet.heat.
HEATED = {"hotline": {"radius": 16, "blur": 18, "max": 10, "maxZoom": 16, "minOpacity": 0.1}}
SEARCHABLE = ("communities", "venues", "projects", "garbage", "parcels", "parking", "grid",
              "roads", "boundary")  # by name, and by address (venues, the office)

OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"
TIANDITU_URL = ("https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}")
TIANDITU_ATTRIBUTION = "&copy; 天地图 (国家地理信息公共服务平台)"


BASEMAP_NAMES = {"none": "无底图(离线)", "osm": "OpenStreetMap", "tianditu": "天地图矢量"}


def basemap_choices(tianditu_key: str | None) -> list[dict[str, Any]]:
    """The basemaps as data for a page's own Leaflet script (the inspectors' page): key,
    name and tile layers ({url, attribution, maxZoom, subdomains?}); none comes first."""
    choices: list[dict[str, Any]] = [
        {"key": "none", "name": BASEMAP_NAMES["none"], "tiles": []},
        {"key": "osm", "name": BASEMAP_NAMES["osm"],
         "tiles": [{"url": OSM_URL, "attribution": OSM_ATTRIBUTION, "maxZoom": 19}]},
    ]
    if tianditu_key:
        key = quote(str(tianditu_key), safe="")
        choices.append({"key": "tianditu", "name": BASEMAP_NAMES["tianditu"], "tiles": [
            {"url": TIANDITU_URL.format(layer=layer, key=key), "attribution": TIANDITU_ATTRIBUTION,
             "maxZoom": 18, "subdomains": "01234567"} for layer in ("vec", "cva")]})
    return choices


def basemap_origins(tianditu_key: str | None) -> tuple[str, ...]:
    """The tile servers the basemaps load images from (for the Content-Security-Policy)."""
    return ("https://tile.openstreetmap.org",) + (
        ("https://*.tianditu.gov.cn",) if tianditu_key else ())


@dataclass(frozen=True)
class MapOptions:
    static_url: str = "/static"  # where the app serves static/
    api_url: str = "/api"
    tianditu_key: str | None = None  # 天地图 key (tk); without it there is no 天地图 basemap
    # Clustered point layers with more features than this are clustered by the server
    # (/api/layers/<name>/clusters, refetched as the map moves), not in the browser.
    server_cluster_threshold: int = 5000


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
        self.default_js = [("huaishu_map", f"{options.static_url}/js/huaishu-map.js"),
                           ("map_labels", f"{options.static_url}/js/map-labels.js")]
        self.default_css = [("huaishu_map_css", f"{options.static_url}/css/map.css"),
                            ("map_labels_css", f"{options.static_url}/css/map-labels.css")]


class _PluginAssets(JSCSSMixin, MacroElement):
    """The Leaflet plugins of the overview and print pages, from static/node_modules."""

    def __init__(self, options: MapOptions):
        super().__init__()
        self._name = "PluginAssets"
        modules = f"{options.static_url}/node_modules"
        self.default_js = [
            ("markercluster", f"{modules}/leaflet.markercluster/dist/leaflet.markercluster.js"),
            ("geoman", f"{modules}/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.js"),
            ("map_overlays", f"{options.static_url}/js/map-overlays.js"),
            ("map_clusters", f"{options.static_url}/js/map-clusters.js"),
            ("leaflet_heat", f"{modules}/leaflet.heat/dist/leaflet-heat.js"),
        ]
        self.default_css = [
            ("markercluster_css", f"{modules}/leaflet.markercluster/dist/MarkerCluster.css"),
            ("geoman_css", f"{modules}/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css"),
        ]


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


class Basemap(MacroElement):
    """Registers its parent base layer under a fixed key, for the page script."""

    _template = Template("""
{% macro script(this, kwargs) %}
HuaishuMap.addBasemap({{ this.key_json }}, {{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, key: str):
        super().__init__()
        self._name = "Basemap"
        self.key_json = htmlsafe_json_dumps(key)


def layer_config(layer: Layer, options: MapOptions, count: int, *, themed: bool = False,
                 cluster: bool = False, pane: dict[str, Any] | None = None,
                 outline_pane: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the page script needs to draw a layer: where, how, and which fields.

    `themed` styles features by category (see presentation.theme), `cluster`
    clusters a point layer's markers, `pane` ({"name", "zIndex"}) fixes its
    drawing order, `outline_pane` (the same) draws the outlines once more, there.
    """
    style = layer.style
    popup_fields = (*layer.popup, *(f.name for f in live_fields(layer)))
    return {
        "name": layer.name,
        "title": layer.title,
        "group": layer.group,
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
        "popup": [popup_row(layer, name) for name in popup_fields],
        "tooltip": layer.tooltip,
        "popupMaxWidth": POPUP_MAX_WIDTH_PX,
        "popupMinWidth": POPUP_MIN_WIDTH_PX,
        "theme": theme(layer) if themed else None,
        "cluster": cluster and layer.geometry == "Point",
        "serverCluster": (cluster and layer.geometry == "Point"
                          and count > options.server_cluster_threshold),
        "clustersUrl": f"{options.api_url}/layers/{layer.name}/clusters",
        "pane": pane,
        "outlinePane": outline_pane,
        "communityField": community_field(layer),
        "heat": HEATED.get(layer.name) if themed else None,
        "clusterRadius": CLUSTER_RADIUS.get(layer.name),
    }


def popup_row(layer: Layer, name: str) -> dict[str, str]:
    """A popup row: the field's label, and the unit its value carries unless the label
    names it already ("泊位(个)": 36, not 36 个)."""
    label, unit = field_label(layer, name), field_unit(layer, name)
    return {"field": name, "label": label, "unit": "" if label.endswith(f"({unit})") else unit}


def layer_control_name(layer: Layer, count: int) -> str:
    """LayerControl inserts names as HTML: escape them."""
    return str(escape(f"{layer.title} ({count})"))


class Legend(MacroElement):
    """A static legend: one swatch per layer (the overview page builds a thematic one in JS)."""

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


def draw_order(store: LayerStore) -> list[str]:
    """Layer names bottom to top: DRAW_ORDER first, then any other layer (polygons first)."""
    rank = {"Polygon": 0, "LineString": 1, "Point": 2}
    rest = sorted((n for n in store.names() if n not in DRAW_ORDER),
                  key=lambda n: rank[store.get(n).layer.geometry])
    return [n for n in DRAW_ORDER if n in store.names()] + rest


def groups(store: LayerStore) -> list[dict[str, Any]]:
    """The layer-control groups, in GROUP_ORDER, each with its layers in catalogue order."""
    titles = list(GROUP_ORDER) + sorted({lyr.layer.group for lyr in store} - set(GROUP_ORDER))
    return [{"title": t, "layers": [lyr.name for lyr in store if lyr.layer.group == t]}
            for t in titles if any(lyr.layer.group == t for lyr in store)]


def outline_pane(name: str, z_index: dict[str, int]) -> dict[str, Any] | None:
    """The pane where a layer's outlines are drawn again (OUTLINE_ABOVE), if any."""
    above = OUTLINE_ABOVE.get(name)
    if above is None or above not in z_index:
        return None
    return {"name": f"hs-{name}-outline", "zIndex": z_index[above] + 5}


def overview_map(store: LayerStore, options: MapOptions | None = None,
                 controls: bool = True) -> folium.Map:
    """The whole sub-district, every layer themed, clustered and in its own pane.

    The layer control lists the basemaps; the page's panel (static/js/map-panel.js)
    toggles the layers by group. `controls=False` leaves out the zoom buttons and
    the layer control (the print view).
    """
    options = options or MapOptions()
    boundary = store.get("boundary")
    minx, miny, maxx, maxy = boundary.bbox or (116.95, 36.65, 116.98, 36.69)
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=15,
        tiles=None,
        control_scale=False,  # the page script adds a metric-only scale bar
        zoom_control=controls,
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    local_assets(m, options)
    _AppAssets(options).add_to(m)
    _PluginAssets(options).add_to(m)
    add_basemaps(m, options.tianditu_key)
    order = draw_order(store)
    z_index = {name: PANE_Z_BASE + 10 * z for z, name in enumerate(order)}
    for name in order:
        loaded = store.get(name)
        layer = loaded.layer
        group = folium.FeatureGroup(name=layer_control_name(layer, len(loaded)), show=True,
                                    control=False)
        config = layer_config(layer, options, len(loaded), themed=True,
                              cluster=name in CLUSTERED,
                              pane={"name": f"hs-{name}", "zIndex": z_index[name]},
                              outline_pane=outline_pane(name, z_index))
        ApiLayer(config).add_to(group)
        group.add_to(m)
    # No m.fit_bounds: its animated zoom would finish after, and undo, the page
    # script's own fit (HuaishuMap.setupPage fits the sub-district, or a printed view).
    if controls:
        folium.LayerControl(collapsed=False, position="topright").add_to(m)  # last
    return m


def add_basemaps(m: folium.Map, tianditu_key: str | None = None) -> None:
    """Base layers: none (offline, the default), OpenStreetMap, and 天地图 with a key,
    from `basemap_choices`, each a base layer group registered under its key.

    天地图's vector map (vec_w) and its labels (cva_w) form one base layer; the
    key goes only into the tile URLs, never into a layer name.
    """
    for n, choice in enumerate(basemap_choices(tianditu_key)):
        group = folium.FeatureGroup(name=choice["name"], overlay=False, show=n == 0)
        for tile in choice["tiles"]:
            folium.TileLayer(tile["url"], name=f"{choice['key']}-tiles",
                             attr=tile["attribution"], max_zoom=tile["maxZoom"],
                             subdomains=tile.get("subdomains", "abc"),
                             control=False).add_to(group)
        Basemap(choice["key"]).add_to(group)
        group.add_to(m)


def page_config(store: LayerStore, api_url: str = "/api") -> dict[str, Any]:
    """What the overview and print pages' scripts need besides the layers themselves."""
    boundary = store.get("boundary").bbox or [116.95, 36.65, 116.98, 36.69]
    return {
        "api": {name: f"{api_url}/{name}"
                for name in ("summary", "measure", "choropleth", "coverage", "export")},
        "groups": groups(store),
        "bounds": [[boundary[1], boundary[0]], [boundary[3], boundary[2]]],
        "communities": [f["properties"]["name"] for f in store.get("communities").features],
        "indicators": [{"key": i.key, "label": i.label, "unit": i.unit} for i in INDICATORS],
        "coverage": [{"key": key, "label": label, "color": COVERAGE_COLORS[key]}
                     for key, label in COVERAGE_LABELS.items()],
        "search": [n for n in SEARCHABLE if n in store.names()],
    }


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
