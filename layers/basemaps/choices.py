"""The basemaps as the pages see them: choices for a page's switch, folium base layers,
and the origins the Content-Security-Policy lets images load from.

Pages get /tiles URLs for proxied sources (every source with a key), so no key
is ever written into a page; only a source configured with `proxy = false` is
loaded by the browser from its own server.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps

from layers.basemaps.area import TileArea
from layers.basemaps.sources import NONE_KEY, NONE_NAME, Basemaps

PAGE_MAX_ZOOM = 19  # the maps' deepest zoom (HuaishuMap.MAX_ZOOM): deeper tiles are scaled


def basemap_choices(basemaps: Basemaps, tile_url: Callable[[str], str],
                    area: TileArea) -> list[dict[str, Any]]:
    """The switch's entries, none first: key, name, kind and tile layers ({url,
    attribution, maxZoom, maxNativeZoom, minZoom?, bounds?, subdomains?}).
    `tile_url(layer_id)` is the proxy's URL template of a tile set."""
    choices: list[dict[str, Any]] = [{"key": NONE_KEY, "name": NONE_NAME, "kind": None,
                                      "tiles": []}]
    for source in basemaps.sources:
        tiles = []
        for layer_id in source.layer_ids:
            tile: dict[str, Any] = {"attribution": source.attribution, "maxZoom": PAGE_MAX_ZOOM}
            if source.proxy:
                # Leaflet asks only for what the proxy serves: no tile outside the area
                # or below its zooms; deeper zooms scale the deepest tiles.
                tile |= {"url": tile_url(layer_id), "minZoom": area.min_zoom,
                         "maxNativeZoom": min(source.max_zoom, area.max_zoom),
                         "bounds": area.leaflet_bounds()}
            else:
                tile |= {"url": source.template(layer_id), "maxNativeZoom": source.max_zoom}
                if source.subdomains:
                    tile["subdomains"] = source.subdomains
            tiles.append(tile)
        choices.append({"key": source.key, "name": source.name, "kind": source.kind,
                        "tiles": tiles})
    return choices


def basemap_origins(basemaps: Basemaps) -> tuple[str, ...]:
    """The servers pages load tiles from besides the app (sources with proxy = false)."""
    return tuple(dict.fromkeys(s.origin() for s in basemaps.sources if not s.proxy))


class Basemap(JSCSSMixin, MacroElement):
    """Registers its parent base layer under its key, for the page script, and with
    static/js/basemap-fallback.js, which switches to none when its tiles fail."""

    _template = Template("""
{% macro script(this, kwargs) %}
HuaishuMap.addBasemap({{ this.key_json }}, {{ this._parent.get_name() }});
HuaishuBasemaps.register({{ this._parent._parent.get_name() }}, {{ this.key_json }},
                         {{ this._parent.get_name() }}, {{ this.name_json }});
{% endmacro %}
""")

    def __init__(self, key: str, name: str, static_url: str):
        super().__init__()
        self._name = "Basemap"
        self.key_json = htmlsafe_json_dumps(key)
        self.name_json = htmlsafe_json_dumps(name)
        self.default_js = [("basemap_fallback", f"{static_url}/js/basemap-fallback.js")]


def add_basemaps(m: folium.Map, choices: Sequence[dict[str, Any]],
                 static_url: str = "/static") -> None:
    """The choices as folium base layers, none (the default) first, each a base layer
    group registered under its key: a source's map and its labels form one base layer."""
    for n, choice in enumerate(choices):
        group = folium.FeatureGroup(name=choice["name"], overlay=False, show=n == 0)
        for tile in choice["tiles"]:
            extra = {"bounds": tile["bounds"]} if "bounds" in tile else {}
            folium.TileLayer(tile["url"], name=f"{choice['key']}-tiles",
                             attr=tile["attribution"] or " ", max_zoom=tile["maxZoom"],
                             max_native_zoom=tile["maxNativeZoom"],
                             min_zoom=tile.get("minZoom"),
                             subdomains=tile.get("subdomains", "abc"),
                             control=False, **extra).add_to(group)
        Basemap(choice["key"], choice["name"], static_url).add_to(group)
        group.add_to(m)
