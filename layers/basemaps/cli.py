"""`flask --app server tiles seed|stats|clear`: the tile cache for offline use.

`tiles seed SOURCE --zooms 12-18` fetches every tile of the allowed area (the
sub-district and its margin, see routes.tile_area) at those zooms, the source's
labels too, into the cache the proxy answers from. Tiles already cached and fresh
are skipped, so a seed run that was interrupted resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import click
from flask import current_app
from flask.cli import with_appcontext

from layers.basemaps.proxy import FetchError
from layers.basemaps.routes import get_basemaps, get_proxy, tile_area

MAX_WORKERS = 16


@click.group("tiles", help="底图瓦片缓存:预下载、统计、清空 (the basemap tile cache).")
def tiles_cli() -> None:
    pass


def parse_zooms(text: str) -> list[int]:
    """'12-18' or '15' -> the zooms."""
    low, sep, high = text.partition("-")
    try:
        zooms = range(int(low), int(high if sep else low) + 1)
    except ValueError:
        raise click.BadParameter("应为 12-18 或 15 这样的缩放级别 (e.g. 12-18 or 15)") from None
    if not zooms:
        raise click.BadParameter("缩放级别范围为空 (the range is empty)")
    return list(zooms)


def _size(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.1f} KB"


@tiles_cli.command("seed")
@click.argument("source")
@click.option("--zooms", default="12-18", show_default=True, help="缩放级别范围 (zooms)")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, MAX_WORKERS),
              help="同时下载的瓦片数 (concurrent fetches)")
@with_appcontext
def seed(source: str, zooms: str, workers: int) -> None:
    """Fetch every tile of the allowed area at ZOOMS of SOURCE (and its labels) into the cache."""
    basemaps, proxy = get_basemaps(), get_proxy()
    found = basemaps.get(source)
    if found is None or not found.proxy:
        known = ", ".join(s.key for s in basemaps.sources if s.proxy) or "无"
        raise click.ClickException(f"未配置经代理的底图 {source!r};可用:{known} "
                                   f"(no proxied basemap {source!r})")
    if not found.seed:
        raise click.ClickException(f"底图 {source} 不允许批量下载(seed = false,如 OpenStreetMap 的"
                                   f"使用政策) (the source may not be seeded)")
    area = tile_area()
    levels = parse_zooms(zooms)
    allowed = range(area.min_zoom, min(area.max_zoom, found.max_zoom) + 1)
    if levels[0] not in allowed or levels[-1] not in allowed:
        raise click.BadParameter(f"缩放级别须在 {allowed.start}-{allowed.stop - 1} 之内 "
                                 f"(zooms must be within the allowed {allowed.start}-"
                                 f"{allowed.stop - 1})", param_hint="--zooms")
    jobs = [(layer_id, z, x, y) for layer_id in found.layer_ids
            for z, x, y in area.tiles(levels)]
    cache = proxy.cache
    todo = [job for job in jobs if not cache.has_fresh(*job)]
    click.echo(f"{found.name} ({source}):缩放 {levels[0]}-{levels[-1]},共 {len(jobs)} 个瓦片,"
               f"已缓存 {len(jobs) - len(todo)} 个,待下载 {len(todo)} 个")
    fetched = failed = size = 0
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool, \
            click.progressbar(length=len(todo), label="下载瓦片", show_pos=True,
                              show_percent=True) as bar:
        futures = [pool.submit(proxy.fetch, *job) for job in todo]
        try:
            for future in as_completed(futures):
                try:
                    size += len(future.result())
                    fetched += 1
                except FetchError:
                    failed += 1
                bar.update(1)
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise
    seconds = time.monotonic() - started
    click.echo(f"下载 {fetched} 个瓦片,共 {_size(size)},用时 {seconds:.1f} 秒;失败 {failed} 个;"
               f"跳过已缓存 {len(jobs) - len(todo)} 个")
    click.echo(f"fetched {fetched} tiles, {size} bytes in {seconds:.1f} s; failed {failed}; "
               f"skipped {len(jobs) - len(todo)} cached")
    total = cache.total_bytes()
    if total > cache.max_bytes * 0.9:
        click.echo(f"注意:缓存已有 {_size(total)},接近上限 {_size(cache.max_bytes)} "
                   "(TILE_CACHE_MAX_BYTES),较早的瓦片会被淘汰", err=True)
    if failed:
        raise click.ClickException(f"{failed} 个瓦片未能下载,再次运行可继续 "
                                   f"({failed} tiles failed; run again to resume)")


@tiles_cli.command("stats")
@with_appcontext
def stats() -> None:
    """Tiles and bytes in the cache, per tile set."""
    cache = get_proxy().cache
    rows = cache.stats()
    click.echo(f"缓存目录 (cache): {cache.root}")
    total_tiles = total_bytes = 0
    for layer_id in sorted(rows):
        row = rows[layer_id]
        oldest = dt.datetime.fromtimestamp(row["oldest"]).strftime("%Y-%m-%d %H:%M")
        newest = dt.datetime.fromtimestamp(row["newest"]).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{layer_id}: {int(row['tiles'])} 个瓦片, {_size(row['bytes'])} "
                   f"({oldest} ~ {newest})")
        total_tiles += int(row["tiles"])
        total_bytes += int(row["bytes"])
    click.echo(f"合计 (total): {total_tiles} 个瓦片, {_size(total_bytes)};"
               f"上限 (limit) {_size(cache.max_bytes)}")


@tiles_cli.command("clear")
@click.argument("source", required=False)
@with_appcontext
def clear(source: str | None) -> None:
    """Remove the cached tiles of SOURCE (and its labels), or of every source."""
    cache = get_proxy().cache
    layer_ids = None
    if source is not None:
        found = get_basemaps().get(source)
        layer_ids = list(found.layer_ids) if found else [source]
    tiles, size = cache.clear(layer_ids)
    click.echo(f"已删除 {tiles} 个瓦片,共 {_size(size)} (removed {tiles} tiles, {size} bytes)")
    current_app.logger.info("tile cache cleared: %s", source or "all")
