"""The overview map (一张图) and its print view: every layer themed, clustered and in
its own pane, and what their page scripts need besides the layers.

The frame every map page shares (options, the app's own Leaflet, layers filled
from the API, render_parts) is layers/web/maps.py; the basemaps are
layers/basemaps/.
"""

from __future__ import annotations

from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from layers.basemaps.choices import add_basemaps
from layers.catalogue.live import live_properties
from layers.catalogue.styles import COVERAGE_COLORS
from layers.planners.analysis import COVERAGE_LABELS, INDICATORS
from layers.stores.interfaces import Layers
from layers.web.maps import (
    PANE_Z_BASE,
    ApiLayer,
    MapOptions,
    layer_config,
    layer_control_name,
    local_assets,
)

# Layer-control groups of the overview page, in the order shown.
GROUP_ORDER = ("管理单元", "设施", "项目与土地", "安全", "底图")
# Drawing order, bottom to top. Outline-only polygons (boundary, grid) are not
# filled, so a click inside a community reaches the community.
DRAW_ORDER = ("communities", "grid", "roads", "parcels", "projects", "parking", "boundary",
              "garbage", "venues")
# Borders drawn a second time, just above the layer that would hide them: community
# borders run along roads, whose wide lines cover them.
OUTLINE_ABOVE = {"communities": "roads"}
CLUSTERED = ("garbage", "venues", "shopfronts")  # point layers that cluster when zoomed out
# Wider clusters (pixels, zoomed out) for layers of many points close together.
CLUSTER_RADIUS = {"shopfronts": 110}
# Point layers drawn as a heat map (many points whose density is the message): Leaflet.heat.
HEATED = {"hotline": {"radius": 16, "blur": 18, "max": 10, "maxZoom": 16, "minOpacity": 0.1}}
# The 2022 summary's thematic layers (城市治理) start hidden: with all of them on, the
# 12345 heat map and 436 shop fronts cover the overview. A planner turns them on in the
# panel; a printed or shared view names its own layers.
HIDDEN_AT_START = ("hotline", "selfbuilt", "illegal_removed", "railway_cleanup", "vending",
                   "shopfronts")
SEARCHABLE = ("communities", "venues", "projects", "garbage", "parcels", "parking", "grid",
              "roads", "boundary")  # by name, and by address (venues, the office)


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
            ("vectorgrid",
             f"{modules}/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"),
        ]
        self.default_css = [
            ("markercluster_css", f"{modules}/leaflet.markercluster/dist/MarkerCluster.css"),
            ("geoman_css", f"{modules}/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css"),
        ]


def draw_order(store: Layers) -> list[str]:
    """Layer names bottom to top: DRAW_ORDER first, then any other layer (polygons first)."""
    rank = {"Polygon": 0, "LineString": 1, "Point": 2}
    rest = sorted((n for n in store.names() if n not in DRAW_ORDER),
                  key=lambda n: rank[store.get(n).layer.geometry])
    return [n for n in DRAW_ORDER if n in store.names()] + rest


def groups(store: Layers) -> list[dict[str, Any]]:
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


def overview_map(store: Layers, options: MapOptions | None = None,
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
    add_basemaps(m, options.basemaps, options.static_url)
    order = draw_order(store)
    z_index = {name: PANE_Z_BASE + 10 * z for z, name in enumerate(order)}
    for name in order:
        loaded = store.get(name)
        layer = loaded.layer
        group = folium.FeatureGroup(name=layer_control_name(layer, len(loaded)),
                                    show=not (controls and name in HIDDEN_AT_START),
                                    control=False)
        config = layer_config(layer, options, len(loaded), themed=True,
                              cluster=name in CLUSTERED,
                              pane={"name": f"hs-{name}", "zIndex": z_index[name]},
                              outline_pane=outline_pane(name, z_index))
        config["heat"] = HEATED.get(name)
        config["clusterRadius"] = CLUSTER_RADIUS.get(name)
        ApiLayer(config).add_to(group)
        group.add_to(m)
    # No m.fit_bounds: its animated zoom would finish after, and undo, the page
    # script's own fit (HuaishuMap.setupPage fits the sub-district, or a printed view).
    if controls:
        folium.LayerControl(collapsed=False, position="topright").add_to(m)  # last
    return m


def page_config(store: Layers, api_url: str = "/api") -> dict[str, Any]:
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
        # Labels and units of the venues' live properties (catalogue.live), for summaries.
        "live": {p.name: {"label": p.label, "unit": p.unit} for p in live_properties("venues")},
    }
