"""/tiles/<source>/<z>/<x>/<y>: the caching tile proxy, and the basemaps of the pages.

`init_app(app)` reads the configured sources (a bad entry raises
BasemapConfigError, which stops the start), and adds the proxy, its per-client
limit, the route and the `tiles` CLI. Settings (server.py DEFAULTS): BASEMAPS,
BASEMAPS_FILE, TIANDITU_KEY, TILE_CACHE_DIR, TILE_CACHE_MAX_BYTES,
TILE_CACHE_MAX_AGE_S, TILE_AREA, TILE_AREA_MARGIN_M, TILE_ZOOMS,
TILE_FETCH_TIMEOUT_S, TILE_SOURCE_RETRY_S, TILE_RATE_PER_S, TILE_RATE_BURST.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request, url_for

from layers.basemaps.area import TileArea
from layers.basemaps.cache import TileCache
from layers.basemaps.choices import basemap_choices, basemap_origins
from layers.basemaps.proxy import TileProxy
from layers.basemaps.sources import (
    MAX_ZOOM_LIMIT,
    NONE_KEY,
    BasemapConfigError,
    Basemaps,
    BasemapSource,
    load,
)
from layers.basemaps.underlay import Underlay, place
from layers.errors import ApiError, BadRequest, NotFound
from layers.web.context import error_response
from layers.web.ratelimit import TokenBuckets

bp = Blueprint("basemaps", __name__)

COORDINATE = re.compile(r"[0-9]{1,8}")
BROWSER_CACHE_S = 24 * 3600  # how long a browser may keep a tile
STALE_BROWSER_CACHE_S = 300  # a stale tile (the source was down): ask again soon
FALLBACK_BBOX = (116.95, 36.65, 116.98, 36.69)  # the sub-district, if no boundary is loaded


class TooManyTiles(ApiError):
    status = 429


class SourceUnavailable(ApiError):
    status = 502


def init_app(app: Flask) -> None:
    basemaps = load(app.config)
    app.extensions["basemaps"] = basemaps
    cache = TileCache(Path(app.config["TILE_CACHE_DIR"]), int(app.config["TILE_CACHE_MAX_BYTES"]),
                      float(app.config["TILE_CACHE_MAX_AGE_S"]))
    app.extensions["tile_proxy"] = TileProxy(basemaps, cache,
                                             float(app.config["TILE_FETCH_TIMEOUT_S"]),
                                             float(app.config["TILE_SOURCE_RETRY_S"]))
    app.extensions["tile_buckets"] = TokenBuckets(float(app.config["TILE_RATE_PER_S"]),
                                                  float(app.config["TILE_RATE_BURST"]))
    check_area_settings(app)
    app.register_blueprint(bp)
    from layers.basemaps.cli import tiles_cli  # the CLI imports this module
    app.cli.add_command(tiles_cli)


def check_area_settings(app: Flask) -> None:
    """TILE_ZOOMS and TILE_AREA as the proxy needs them; BasemapConfigError otherwise."""
    zooms = app.config["TILE_ZOOMS"]
    try:
        low, high = (int(z) for z in zooms)
        ok = 0 <= low <= high <= MAX_ZOOM_LIMIT
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise BasemapConfigError(
            f"TILE_ZOOMS 应为 [最小, 最大] 缩放级别,在 0-{MAX_ZOOM_LIMIT} 之间",
            f"TILE_ZOOMS must be [lowest, highest] within 0..{MAX_ZOOM_LIMIT}")
    area = app.config.get("TILE_AREA")
    if area:
        try:
            west, south, east, north = (float(v) for v in area)
            ok = -180 <= west < east <= 180 and -85 <= south < north <= 85
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise BasemapConfigError("TILE_AREA 应为 [西, 南, 东, 北] 经纬度范围",
                                     "TILE_AREA must be [west, south, east, north] in degrees")


def get_basemaps() -> Basemaps:
    basemaps: Basemaps = current_app.extensions["basemaps"]
    return basemaps


def get_proxy() -> TileProxy:
    proxy: TileProxy = current_app.extensions["tile_proxy"]
    return proxy


def tile_area(app: Flask | None = None) -> TileArea:
    """What the proxy may fetch: TILE_AREA (a lon/lat bbox) or the sub-district's
    extent (its boundary layer, as now served) grown by TILE_AREA_MARGIN_M, at TILE_ZOOMS.
    Kept per layer store: pyproj makes its transformers again in every new thread
    (0.1 s each), and a threaded server may run each request in a new one."""
    app = app or current_app
    config = app.config
    store = app.extensions["layer_store"]
    cached = app.extensions.get("tile_area")
    if cached is not None and cached[0] is store:  # computed for the layers now served
        area: TileArea = cached[1]
        return area
    if config.get("TILE_AREA"):
        west, south, east, north = (float(v) for v in config["TILE_AREA"])
        bbox: Any = (west, south, east, north)
        margin = 0.0
    else:
        bbox = (store.get("boundary").bbox if "boundary" in store.names() else None) \
            or FALLBACK_BBOX
        margin = float(config["TILE_AREA_MARGIN_M"])
    area = TileArea.around(bbox, margin, config["TILE_ZOOMS"])
    app.extensions["tile_area"] = (store, area)  # a reload swaps the store: made anew
    return area


def tile_url(layer_id: str) -> str:
    """The proxy's URL template of a tile set, for Leaflet: /tiles/<layer_id>/{z}/{x}/{y}."""
    return url_for("basemaps.tile", source=layer_id, z="0", x="0", y="0")[: -len("/0/0/0")] \
        + "/{z}/{x}/{y}"


def page_basemaps() -> list[dict[str, Any]]:
    """The basemap switch of this app's pages (see choices.basemap_choices)."""
    return basemap_choices(get_basemaps(), tile_url, tile_area())


def page_origins() -> tuple[str, ...]:
    """Where this app's pages load tiles from besides itself (the CSP's img-src)."""
    basemaps = current_app.extensions.get("basemaps")
    return basemap_origins(basemaps) if basemaps is not None else ()


def chosen_basemap(value: str | None) -> BasemapSource | None:
    """The basemap a page's `basemap` parameter names: None for none (or no parameter);
    BadRequest for a key that is not configured."""
    basemaps = get_basemaps()
    if not value or value == NONE_KEY:
        return None
    source = basemaps.get(value)
    if source is None or not source.proxy:
        keys = [NONE_KEY, *(s.key for s in basemaps.sources if s.proxy)]
        raise BadRequest(f"未知底图 {value!r} (basemap: {', '.join(keys)})")
    return source


def extract_underlay(source: BasemapSource | None, bounds_m: Any, width_mm: float,
                     height_mm: float) -> Underlay | None:
    """The tiles of `source` under a brief's map extract (None: no basemap)."""
    if source is None or bounds_m is None:
        return None
    return place(source, tile_area(), bounds_m, width_mm, height_mm)


def _coordinate(text: str, name: str) -> int:
    if not COORDINATE.fullmatch(text):
        raise BadRequest(f"瓦片坐标 {name} 须为非负整数 ({name} must be a non-negative integer)")
    return int(text)


@bp.get("/tiles/<source>/<z>/<x>/<y>")
def tile(source: str, z: str, x: str, y: str) -> Any:
    """A tile of a configured source, from the cache or fetched; 4xx without fetching
    for an unknown source, a non-integer coordinate, or a tile outside the allowed
    zooms and area; 429 past the client's limit (tiles that are not fresh in the cache,
    which may need a fetch, count); 502 when neither the cache nor the source has it."""
    tz, tx, ty = _coordinate(z, "z"), _coordinate(x, "x"), _coordinate(y, "y")
    proxy = get_proxy()
    found = proxy.source(source)
    if found is None:
        raise NotFound(f"未配置的底图 {source!r} (no proxied basemap of that name)")
    area = tile_area()
    if not area.min_zoom <= tz <= min(area.max_zoom, found.max_zoom):
        raise BadRequest(f"缩放级别 {tz} 不在允许的 {area.min_zoom}-"
                         f"{min(area.max_zoom, found.max_zoom)} 之内 (zoom not allowed)")
    if not area.allows(tz, tx, ty):
        raise BadRequest("该瓦片不在允许的范围(街道及周边)之内 (tile outside the allowed area)")
    found_tile = proxy.fresh(source, tz, tx, ty)
    if found_tile is None:  # a fetch: what the per-client limit is for
        wait = current_app.extensions["tile_buckets"].take(request.remote_addr or "unknown")
        if wait is not None:
            response, status = error_response("底图瓦片请求过于频繁,请稍后再试 (too many tile "
                                              "requests; retry later)", TooManyTiles.status)
            response.headers["Retry-After"] = str(wait)
            return response, status
        found_tile = proxy.tile(source, tz, tx, ty)
    if found_tile is None:
        raise SourceUnavailable("底图服务暂时无法访问,且该瓦片没有缓存 (the tile source "
                                "cannot be reached and the tile is not cached)")
    response = Response(found_tile.body, mimetype=found_tile.media_type)
    max_age = STALE_BROWSER_CACHE_S if found_tile.cache == "stale" else BROWSER_CACHE_S
    response.headers["Cache-Control"] = f"private, max-age={max_age}"
    response.headers["X-Tile-Cache"] = found_tile.cache
    return response
