"""The map of the leaders' pages: a few layers, filled from the API like the overview."""

from __future__ import annotations

from collections.abc import Sequence

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from layers.basemaps.choices import add_basemaps
from layers.stores.interfaces import Layers
from layers.web.maps import (
    PANE_Z_BASE,
    ApiLayer,
    Legend,
    MapOptions,
    layer_config,
    layer_control_name,
    local_assets,
)


class _ReviewAssets(JSCSSMixin, MacroElement):
    """The shared map script (fills layers from the API), its styles, a metric scale."""

    _template = Template("""
{% macro script(this, kwargs) %}
HuaishuMap.setMap({{ this._parent.get_name() }});
L.control.scale({imperial: false, position: "bottomright"}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, options: MapOptions):
        super().__init__()
        self._name = "ReviewAssets"
        self.default_js = [("huaishu_map", f"{options.static_url}/js/huaishu-map.js"),
                           ("map_labels", f"{options.static_url}/js/map-labels.js")]
        self.default_css = [("huaishu_map_css", f"{options.static_url}/css/map.css"),
                            ("map_labels_css", f"{options.static_url}/css/map-labels.css")]


THEMED = ("parcels", "projects")


def sites_map(store: Layers, layer_names: Sequence[str],
              options: MapOptions | None = None) -> folium.Map:
    """The sub-district with the given layers, drawn in that order (the last on top)."""
    options = options or MapOptions()
    boundary = store.get("boundary")
    minx, miny, maxx, maxy = boundary.bbox or (116.95, 36.65, 116.98, 36.69)
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=15,
                   tiles=None, control_scale=False, zoom_snap=0.25)
    local_assets(m, options)
    _ReviewAssets(options).add_to(m)
    add_basemaps(m, options.basemaps, options.static_url)
    shown = []
    for z, name in enumerate(layer_names):
        loaded = store.get(name)
        group = folium.FeatureGroup(name=layer_control_name(loaded.layer, len(loaded)),
                                    show=True)
        # A pane per layer: the order holds whichever layer's data arrives first.
        pane = {"name": f"hs-{name}", "zIndex": PANE_Z_BASE + 10 * z}
        # Themed as on the overview: parcels by status, projects by category, in the
        # catalogue's colours (the table's status badges use the same).
        ApiLayer(layer_config(loaded.layer, options, len(loaded), pane=pane,
                              themed=name in THEMED)).add_to(group)
        group.add_to(m)
        shown.append(loaded.layer)
    Legend(shown, themed=THEMED).add_to(m)
    # No fit_bounds here: its animated zoom would end after the page script's own
    # fit (review-sites.js fits the sub-district once the table has set the map's size).
    folium.LayerControl(collapsed=True).add_to(m)  # last, so it lists every layer
    return m
