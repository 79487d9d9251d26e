"""The service at scale: synthetic venues (1k, 100k, 1M), ours against the naive way.

    python bench/scale.py [--sizes 1000,100000,1000000] [--queries 1000]
                          [--database-url postgresql://...]

For each size, a data directory is written (bench/synthetic.py: central Jinan,
the shipped layers and N venues) and loaded through the real LayerStore:

1. in a child process (clean memory): the app's load time and RSS, then the
   queries called in-process: nearby (20 nearest within 1 km, as /api/nearby,
   statuses included), a bbox layer query (as /api/layers/venues?bbox= for a
   map view at zoom 16) and a cluster query (as /api/layers/venues/clusters,
   views at zooms 11 to 17); and the naive nearby: a GeoDataFrame full-scan
   distance (GeoSeries.distance, then the 20 nearest within 1 km);
2. the production server (gunicorn, bench/production.py) on a loopback port:
   the same queries over HTTP with one keep-alive connection, p50 and p99;
3. headless Chromium: the map page's HTML size and time to interactive (every
   layer loaded, the venues' first clusters drawn) with the venues layer on,
   against a Folium map with the venues inlined (folium.GeoJson), the naive way;
4. growth: for every request kind, the same result size at every venue count
   (growth_paths), its p50 over HTTP and the ratio of the largest size's p50 to the
   smallest's; an OGC page in EPSG:4548 against CRS84; the OGC items page's HTML size;
   and OGC items by bbox with 16 clients (wrk, when installed: `make wrk-deps`).
   The inlined map is built and opened up to NAIVE_PAGE_MAX venues; above that
   its size is extrapolated from the largest one measured (marked ~) and its
   time to interactive is not measured.

It prints a Markdown table (the README's "Scale" section keeps one) and the
ratios naive / ours. Only loopback is used; every loop is bounded.

The app runs on the embedded store unless `--database-url` (or the app's own
HUAISHU_DATABASE_URL) names a PostGIS database: then the in-process and HTTP
queries are answered by the PostGIS store. Its layers' versions are emptied before
each size, so that the synthetic data seeds them, and its records are overwritten:
give it a scratch database.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.production import ProductionServer  # noqa: E402
from bench.synthetic import JINAN_CENTRE, write_data_dir  # noqa: E402

T = TypeVar("T")
TODAY = "2026-11-25"
DEFAULT_SIZES = (1_000, 100_000, 1_000_000)
NAIVE_PAGE_MAX = 100_000  # venues inlined into a Folium page that is still opened
NAIVE_NEARBY_QUERIES = 20  # full scans are slow: fewer of them
SERVER_START_TIMEOUT_S = 900  # 1M venues take a minute or two to load
VIEWPORT = (1280, 860)
# Query points: inside central Jinan, a kilometre clear of its edge.
QUERY_AREA = (JINAN_CENTRE[0] + 0.012, JINAN_CENTRE[1] + 0.01,
              JINAN_CENTRE[2] - 0.012, JINAN_CENTRE[3] - 0.01)


# --- what is queried ------------------------------------------------------------


def query_points(count: int, seed: int = 11) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    lo, hi = QUERY_AREA[:2], QUERY_AREA[2:]
    return [(round(float(x), 6), round(float(y), 6))
            for x, y in rng.uniform(lo, hi, size=(count, 2))]


def view_bbox(lon: float, lat: float, zoom: float, size: tuple[int, int] = VIEWPORT
              ) -> tuple[float, float, float, float]:
    """The lon/lat bounds of a map view (Web Mercator) centred on a point."""
    degrees_per_px = 360 / (256 * 2 ** zoom)
    half_w = size[0] / 2 * degrees_per_px
    half_h = size[1] / 2 * degrees_per_px * math.cos(math.radians(lat))
    return (round(lon - half_w, 6), round(lat - half_h, 6),
            round(lon + half_w, 6), round(lat + half_h, 6))


# The growth rows ask for the same result size at every size: a bbox holding about
# GROWTH_FEATURES venues on average (its side shrinks as the venues grow denser), a tile
# of the zoom whose tiles hold about as many, a nearby radius holding about twice `limit`.
GROWTH_FEATURES = 26
GROWTH_REFERENCE = 1_000_000  # the size whose zoom is 16 (the "zoom-16 view")
WRK_CLIENTS = 16
WRK_SECONDS = 10


def city_km2() -> float:
    lon0, lat0, lon1, lat1 = JINAN_CENTRE
    return ((lon1 - lon0) * 111.32 * math.cos(math.radians((lat0 + lat1) / 2))
            * (lat1 - lat0) * 110.57)


def growth_bbox(lon: float, lat: float, size: int) -> tuple[float, float, float, float]:
    """A square bbox centred on the point holding GROWTH_FEATURES venues on average."""
    side_km = math.sqrt(GROWTH_FEATURES / (size / city_km2()))
    half_lon = side_km / 2 / (111.32 * math.cos(math.radians(lat)))
    half_lat = side_km / 2 / 110.57
    return (round(lon - half_lon, 6), round(lat - half_lat, 6),
            round(lon + half_lon, 6), round(lat + half_lat, 6))


def growth_zoom(size: int) -> int:
    """The tile zoom at which a tile holds as many venues as a zoom-16 tile at 1M."""
    return max(0, round(16 - math.log(GROWTH_REFERENCE / size, 4)))


def growth_radius_m(size: int) -> float:
    """A radius holding 2 × 20 venues on average (nearby's limit is 20)."""
    return round(math.sqrt(40 / (size / city_km2()) / math.pi) * 1000, 1)


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int, int]:
    n = 2 ** zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return zoom, y, x


def tile_path(z: int, y: int, x: int) -> str:
    return f"/ogc/collections/venues/tiles/WebMercatorQuad/{z}/{y}/{x}"


# A tile timed holds the venues a zoom-16 tile holds at 1M on average, give or take this
# share: at 1k the growth zoom (11) has a handful of tiles over the city, most of them
# cut by its edge, so the tiles at the query points alone would hold a third as many.
TILE_COUNT_SLACK = 0.25


def tile_counts(venues: np.ndarray, zoom: int) -> dict[tuple[int, int, int], int]:
    """Venues per tile (z, y, x) at `zoom`, from their lon/lat (an N × 2 array)."""
    n = 2 ** zoom
    xs = ((venues[:, 0] + 180) / 360 * n).astype(np.int64)
    ys = ((1 - np.arcsinh(np.tan(np.radians(venues[:, 1]))) / math.pi) / 2 * n).astype(np.int64)
    keys, counts = np.unique(np.stack([ys, xs], axis=1), axis=0, return_counts=True)
    return {(zoom, int(y), int(x)): int(c) for (y, x), c in zip(keys, counts, strict=True)}


def growth_tile_paths(points: Sequence[tuple[float, float]], size: int,
                      venues: np.ndarray | None = None) -> list[str]:
    """One tile path per query point: the tiles at the points, or, given the venues, the
    tiles (at the points first) holding as many as a zoom-16 tile at 1M, in turn."""
    zoom = growth_zoom(size)
    chosen = list(dict.fromkeys(tile_of(*p, zoom) for p in points))
    if venues is not None:
        counts = tile_counts(venues, zoom)
        lat = (JINAN_CENTRE[1] + JINAN_CENTRE[3]) / 2
        side_km = 40075.017 * math.cos(math.radians(lat)) / 2 ** 16
        expected = GROWTH_REFERENCE * side_km ** 2 / city_km2()
        near = [t for t in [*chosen, *counts]
                if abs(counts.get(t, 0) - expected) <= TILE_COUNT_SLACK * expected]
        chosen = list(dict.fromkeys(near)) or [min(counts, key=lambda t: abs(counts[t]
                                                                            - expected))]
    return [tile_path(*chosen[i % len(chosen)]) for i in range(len(points))]


def growth_paths(points: Sequence[tuple[float, float]], size: int,
                 venues: np.ndarray | None = None) -> dict[str, list[str]]:
    """Per request kind, one path per query point, each with the same result size at every
    venue count (see GROWTH_FEATURES; tiles: growth_tile_paths)."""
    radius = growth_radius_m(size)
    ogc = "/ogc/collections/venues/items?f=json"
    return {
        "ogc_bbox": [f"{ogc}&limit=20&bbox={bbox_text(growth_bbox(*p, size))}"
                     for p in points],
        "layers_bbox": [f"/api/layers/venues?bbox={bbox_text(growth_bbox(*p, size))}"
                        for p in points],
        "nearby_same": [f"/api/nearby?lon={lon}&lat={lat}&radius_m={radius}&limit=20"
                        for lon, lat in points],
        "clusters_z13": [f"/api/layers/venues/clusters?bbox={bbox_text(view_bbox(*p, 13))}"
                         f"&zoom=13" for p in points],
        "tile": growth_tile_paths(points, size, venues),
        "layers": ["/api/layers" for _ in points],
        "ogc_page_4548": [f"{ogc}&limit=100&offset={i % 500}&crs=EPSG:4548"
                          for i, _ in enumerate(points)],
        "ogc_page_crs84": [f"{ogc}&limit=100&offset={i % 500}" for i, _ in enumerate(points)],
    }


GROWTH_ROWS = (
    ("ogc_bbox", f"OGC items by bbox (~{GROWTH_FEATURES} match, limit 20)"),
    ("layers_bbox", f"/api/layers/venues?bbox= (~{GROWTH_FEATURES} venues)"),
    ("nearby_same", "nearby (20 of ~40 within the radius)"),
    ("clusters_z13", "clusters (zoom-13 view)"),
    ("tile", "vector tile made (~380 venues, cache off)"),
    ("layers", "/api/layers"),
    ("ogc_page_4548", "OGC page of 100 in EPSG:4548"),
    ("ogc_page_crs84", "OGC page of 100 in CRS84"),
)


def nearby_params(lon: float, lat: float) -> dict[str, str]:
    return {"lon": str(lon), "lat": str(lat), "radius_m": "1000", "limit": "20"}


def bbox_text(bbox: Sequence[float]) -> str:
    return ",".join(str(v) for v in bbox)


def cluster_zoom(i: int) -> int:
    return 11 + i % 7  # 11..17


# --- statistics and the table -------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q)) if samples else math.nan


def timed(call: Callable[[T], object], items: Sequence[T]) -> list[float]:
    """Milliseconds each call(item) took."""
    out = []
    for item in items:
        start = time.perf_counter()
        call(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def latency(samples: Sequence[float]) -> str:
    """`p50 / p99` in milliseconds."""
    return f"{fmt_ms(percentile(samples, 50))} / {fmt_ms(percentile(samples, 99))}"


def fmt_ms(ms: float) -> str:
    if math.isnan(ms):
        return "—"
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 \
        else f"{ms:,.0f}"


def fmt_bytes(n: float | None, estimated: bool = False) -> str:
    if n is None:
        return "—"
    text = f"{n / 1e6:,.1f} MB" if n >= 1e6 else f"{n / 1e3:,.1f} kB"
    return ("~" if estimated else "") + text


def fmt_ratio(naive: float | None, ours: float | None) -> str:
    if not naive or not ours or math.isnan(naive) or math.isnan(ours):
        return "—"
    return f"{naive / ours:,.0f}×" if naive / ours >= 10 else f"{naive / ours:.1f}×"


def size_label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else \
        f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; the first column left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(header) + " |",
             "| --- | " + " | ".join("---:" for _ in header[1:]) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Result:
    size: int
    inproc: dict[str, Any]
    http: dict[str, list[float]]
    page: dict[str, Any]


def growth_rows(results: Sequence[Result]) -> list[list[str]]:
    """Per request kind: p50 over HTTP at each size, and the largest size's p50 over the
    smallest's (the same result size: growth_paths)."""
    rows = []
    for kind, label in GROWTH_ROWS:
        p50 = [percentile(r.http.get(kind, []), 50) for r in results]
        ratio = (f"{p50[-1] / p50[0]:.2f}×" if len(results) > 1 and p50[0] and
                 not math.isnan(p50[0]) and not math.isnan(p50[-1]) else "—")
        rows.append([f"{label}, HTTP ms p50"] + [fmt_ms(v) for v in p50] + [ratio])
    crs = [percentile(r.http.get("ogc_page_4548", []), 50)
           / percentile(r.http.get("ogc_page_crs84", []), 50) for r in results]
    rows.append(["→ OGC page: EPSG:4548 / CRS84"] + [f"{c:.2f}×" for c in crs] + [""])
    rows.append(["OGC items page HTML (100 venues)"]
                + [fmt_bytes(r.http["ogc_page_html_bytes"][0])
                   if r.http.get("ogc_page_html_bytes") else "—" for r in results] + [""])
    rows.append([f"OGC items by bbox, {WRK_CLIENTS} clients (wrk), req/s"]
                + [f"{r.http['wrk_ogc_bbox'][0]:,.0f}" if r.http.get("wrk_ogc_bbox")
                   else "—" for r in results] + [""])
    return rows


def result_rows(results: Sequence[Result]) -> list[list[str]]:
    def row(label: str, cell: Callable[[Result], str]) -> list[str]:
        return [label] + [cell(r) for r in results]

    return [
        row("load: read, validate, index (s)", lambda r: f"{r.inproc['load_s']:.1f}"),
        row("memory: RSS after load (MB)", lambda r: f"{r.inproc['rss_mb']:,.0f}"),
        row("venues within 1 km of a query point (mean)",
            lambda r: f"{r.inproc['within_1km']:,.0f}"),
        row("nearby in-process, ms p50 / p99", lambda r: latency(r.inproc["nearby"])),
        row("nearby over HTTP, ms p50 / p99", lambda r: latency(r.http["nearby"])),
        row("naive nearby (GeoDataFrame scan), ms p50",
            lambda r: fmt_ms(percentile(r.inproc["naive_nearby"], 50))),
        row("→ naive / ours (in-process p50)",
            lambda r: fmt_ratio(percentile(r.inproc["naive_nearby"], 50),
                                percentile(r.inproc["nearby"], 50))),
        row("bbox layer query (zoom-16 view) in-process, ms p50 / p99",
            lambda r: latency(r.inproc["bbox"])),
        row("bbox layer query over HTTP, ms p50 / p99", lambda r: latency(r.http["bbox"])),
        row("cluster query (zoom 11–17) in-process, ms p50 / p99",
            lambda r: latency(r.inproc["clusters"])),
        row("cluster query over HTTP, ms p50 / p99", lambda r: latency(r.http["clusters"])),
        row("map page HTML", lambda r: fmt_bytes(r.page["html_bytes"])),
        row("map page time to interactive (ms)", lambda r: fmt_ms(r.page["tti_ms"])),
        row("naive: Folium page, venues inlined",
            lambda r: fmt_bytes(r.page["naive_bytes"], r.page["naive_estimated"])),
        row("naive Folium page time to interactive (ms)",
            lambda r: fmt_ms(r.page["naive_tti_ms"])),
        row("→ naive / ours (HTML size)",
            lambda r: fmt_ratio(r.page["naive_bytes"], r.page["html_bytes"])),
        row("→ naive / ours (time to interactive)",
            lambda r: fmt_ratio(r.page["naive_tti_ms"], r.page["tti_ms"])),
    ]


# --- 1. in-process (a child process of its own per size) ----------------------------


def measure_in_process(data_dir: Path, queries: int) -> dict[str, Any]:
    """Runs in the child: load the app, then time the queries without HTTP."""
    from layers.geo import clusters as clusters_module
    from layers.inspectors.nearby import nearby_collection, parse_nearby
    from layers.inspectors.routes import venue_status_lookup
    from layers.stores.layers import feature_collection
    from layers.web.context import live_properties
    from server import create_app

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as db_dir:
        app = create_app({"DATA_DIR": data_dir, "INSPECTIONS_DB": Path(db_dir) / "i.sqlite",
                          "TODAY": TODAY, "RELOAD_LAYERS": False})
        load_s = time.perf_counter() - start
        rss_mb = rss_kb(os.getpid()) / 1024
        store = app.extensions["layer_store"]
        spatial = app.extensions["spatial"]
        venues = store.get("venues")
        points = query_points(queries)
        with app.test_request_context():
            lookup = venue_status_lookup()
            parsed = [parse_nearby(nearby_params(lon, lat)) for lon, lat in points]
            answers: list[dict[str, Any]] = []

            def nearby_query(query: Any) -> None:
                answers.append(nearby_collection(spatial, query, lookup))

            def bbox_query(p: tuple[float, float]) -> object:  # as api.layer_features
                shown = spatial.in_bbox("venues", view_bbox(p[0], p[1], 16))
                return feature_collection(shown, live_properties(venues, shown))

            def cluster_query(item: tuple[int, tuple[float, float]]) -> object:
                i, (lon, lat) = item
                view = venues.clusters.view(view_bbox(lon, lat, cluster_zoom(i)), cluster_zoom(i))
                return clusters_module.cluster_collection(
                    view, venues.features,
                    live_properties(venues, [venues.features[i]
                                             for i in clusters_module.live_positions(view)]))

            nearby = timed(nearby_query, parsed)
            bbox = timed(bbox_query, points)
            cluster = timed(cluster_query, list(enumerate(points)))
        naive = naive_nearby(venues, points[:NAIVE_NEARBY_QUERIES], answers)
        if "database" in app.extensions:
            app.extensions["database"].close()
    return {"load_s": load_s, "rss_mb": rss_mb, "nearby": nearby, "bbox": bbox,
            "clusters": cluster, "naive_nearby": naive,
            "within_1km": float(np.mean([a["total"] for a in answers]))}


def naive_nearby(venues: Any, points: Sequence[tuple[float, float]],
                 answers: Sequence[dict[str, Any]]) -> list[float]:
    """The naive way: a GeoDataFrame in EPSG:4548, the distance to every venue per query.

    Checked against our answers: the same 20 nearest (by id) for each point.
    """
    import geopandas as gpd
    import shapely

    from layers.geo.crs import lonlat_to_metric

    frame = gpd.GeoDataFrame({"id": venues.ids}, geometry=list(venues.metric), crs="EPSG:4548")
    out = []
    for (lon, lat), ours in zip(points, answers, strict=False):
        start = time.perf_counter()
        here = shapely.Point(lonlat_to_metric(lon, lat))
        distance = frame.geometry.distance(here)
        chosen = frame.loc[distance[distance <= 1000].nsmallest(20).index, "id"].tolist()
        out.append((time.perf_counter() - start) * 1000)
        mine = [f["id"] for f in ours["features"]]
        # Planar and geodesic order agree but for ties and the last place.
        assert len(set(chosen) & set(mine)) >= len(mine) - 2, (chosen, mine)
    return out


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def in_child(data_dir: Path, queries: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", str(data_dir),
                          "--queries", str(queries)], cwd=ROOT, check=True,
                         stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- 2. over HTTP -------------------------------------------------------------------


def measure_http(server_url: str, queries: int, size: int = GROWTH_REFERENCE,
                 venues: np.ndarray | None = None) -> dict[str, list[float]]:
    host, port = server_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)

    def get(path: str) -> None:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if response.status not in (200, 204):  # 204: an empty tile
            raise RuntimeError(f"{path}: HTTP {response.status} {body[:200]!r}")

    points = query_points(queries)
    paths = {
        "nearby": [f"/api/nearby?lon={lon}&lat={lat}&radius_m=1000&limit=20"
                   for lon, lat in points],
        "bbox": [f"/api/layers/venues?bbox={bbox_text(view_bbox(*p, 16))}" for p in points],
        "clusters": [f"/api/layers/venues/clusters?bbox="
                     f"{bbox_text(view_bbox(*p, cluster_zoom(i)))}&zoom={cluster_zoom(i)}"
                     for i, p in enumerate(points)],
        **growth_paths(points, size, venues),
    }
    for kind in paths:  # warm up each worker's caches and the connection
        # Every tile timed once: the server keeps no tiles here (VECTOR_TILE_CACHE_BYTES=0,
        # so the row times a tile being made), only its venues' attributes.
        for path in dict.fromkeys(paths[kind]) if kind == "tile" else paths[kind][:20]:
            get(path)
    try:
        return {kind: timed(get, kind_paths) for kind, kind_paths in paths.items()}
    finally:
        connection.close()


def wrk_rate(server_url: str, path: str) -> list[float]:
    """Requests a second with WRK_CLIENTS keep-alive clients (wrk, `make wrk-deps`); []
    when wrk is not installed."""
    import shutil

    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed (make wrk-deps): no 16-client figure", file=sys.stderr)
        return []
    out = subprocess.run([wrk, "-t2", f"-c{WRK_CLIENTS}", f"-d{WRK_SECONDS}s",
                          server_url + path], check=True, stdout=subprocess.PIPE, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return [float(line.split()[1])]
        if "Non-2xx" in line:
            raise RuntimeError(f"wrk {path}: {line.strip()}")
    return []


# --- 3. the page in Chromium ----------------------------------------------------------


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
INTERACTIVE = ("() => document.body.dataset.layersLoaded === 'true'"
               " && document.querySelectorAll('.hs-cluster-venues, .hs-venue').length > 0")


def measure_page(server_url: str, data_dir: Path, size: int, work: Path,
                 naive_largest: tuple[int, int] | None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with urllib_open(server_url + "/") as response:
        html_bytes = len(response.read())
    naive_bytes: float | None = None
    naive_tti: float = math.nan
    estimated = False
    naive_file = None
    if size <= NAIVE_PAGE_MAX:
        naive_file = naive_folium_page(data_dir, server_url, work / f"naive-{size}.html")
        naive_bytes = naive_file.stat().st_size
    elif naive_largest:
        measured_size, measured_bytes = naive_largest
        naive_bytes = measured_bytes * size / measured_size
        estimated = True
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    headless=True)
        try:
            page = browser.new_page(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]})
            page.goto(server_url + "/")
            page.wait_for_function(INTERACTIVE, timeout=120_000, polling=50)
            tti = page.evaluate("() => performance.now()")
            page.close()
            if naive_file is not None:
                page = browser.new_page(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]})
                page.set_default_timeout(300_000)
                page.goto(naive_file.as_uri(), wait_until="load")
                page.wait_for_function("() => document.querySelectorAll("
                                       "'.leaflet-marker-icon').length > 0", polling=50)
                naive_tti = page.evaluate("() => performance.now()")
                page.close()
        finally:
            browser.close()
    return {"html_bytes": html_bytes, "tti_ms": tti, "naive_bytes": naive_bytes,
            "naive_estimated": estimated, "naive_tti_ms": naive_tti}


def urllib_open(url: str):
    import urllib.request

    return urllib.request.urlopen(url, timeout=120)


def naive_folium_page(data_dir: Path, server_url: str, path: Path) -> Path:
    """A Folium map with the venues layer inlined and clustered by Leaflet.markercluster."""
    import folium
    from folium.plugins import MarkerCluster

    from layers.web.maps import MapOptions, local_assets

    collection = json.loads((data_dir / "venues.geojson").read_text(encoding="utf-8"))
    lon0, lat0, lon1, lat1 = JINAN_CENTRE
    m = folium.Map(location=[(lat0 + lat1) / 2, (lon0 + lon1) / 2], zoom_start=11, tiles=None)
    m.options["maxZoom"] = 19  # clusters need one; folium's max_zoom is for tiles
    local_assets(m, MapOptions(static_url=server_url + "/static"))
    cluster = MarkerCluster()
    # MarkerCluster's own assets, served by the app (folium would load them from a CDN).
    modules = f"{server_url}/static/node_modules/leaflet.markercluster/dist"
    cluster.default_js = [("markerclusterjs", f"{modules}/leaflet.markercluster.js")]
    cluster.default_css = [("markerclustercss", f"{modules}/MarkerCluster.css"),
                           ("markerclusterdefault", f"{modules}/MarkerCluster.Default.css")]
    folium.GeoJson(collection, name="安全监管场所").add_to(cluster)
    cluster.add_to(m)
    m.save(str(path))
    return path


# --- the run --------------------------------------------------------------------------


def venue_coordinates(data_dir: Path) -> np.ndarray:
    """The venues' lon/lat, an N × 2 array (to choose the tiles timed)."""
    with open(data_dir / "venues.geojson", encoding="utf-8") as f:
        features = json.load(f)["features"]
    return np.array([f["geometry"]["coordinates"][:2] for f in features], dtype=float)


def run(sizes: Sequence[int], queries: int, workdir: Path) -> list[Result]:
    results = []
    naive_largest: tuple[int, int] | None = None
    for size in sizes:
        print(f"[{size_label(size)}] writing {size:,} venues", file=sys.stderr, flush=True)
        data_dir = write_data_dir(workdir / f"data-{size}", size, extent="jinan")
        forget_postgis_layers()
        print(f"[{size_label(size)}] in-process", file=sys.stderr, flush=True)
        inproc = in_child(data_dir, queries)
        print(f"[{size_label(size)}] production server", file=sys.stderr, flush=True)
        server = ProductionServer(workdir / f"server-{size}.sqlite", workers=2, threads=4,
                                  config={"DATA_DIR": str(data_dir), "TODAY": TODAY,
                                          "RELOAD_LAYERS": "false",
                                          "VECTOR_TILE_CACHE_BYTES": "0"})
        try:
            server.start(timeout=SERVER_START_TIMEOUT_S)
            http = measure_http(server.url, queries, size, venue_coordinates(data_dir))
            http["wrk_ogc_bbox"] = wrk_rate(server.url, growth_paths(
                query_points(1), size)["ogc_bbox"][0])
            http["ogc_page_html_bytes"] = [float(len(urllib_open(
                server.url + "/ogc/collections/venues/items?f=html&limit=100").read()))]
            print(f"[{size_label(size)}] Chromium", file=sys.stderr, flush=True)
            page = measure_page(server.url, data_dir, size, workdir, naive_largest)
        finally:
            server.stop()
        if page["naive_bytes"] and not page["naive_estimated"]:
            naive_largest = (size, int(page["naive_bytes"]))
        results.append(Result(size, inproc, http, page))
    return results


def forget_postgis_layers() -> None:
    """With PostGIS: drop the scratch database's layer versions, so that the next app
    seeds the layers from this size's files (the database, not the files, is the truth)."""
    url = os.environ.get("HUAISHU_DATABASE_URL")
    if not url:
        return
    import psycopg

    with psycopg.connect(url) as db:
        if db.execute("SELECT to_regclass('layer_heads')").fetchone() != (None,):
            db.execute("TRUNCATE layer_versions, layer_heads")


def store_label() -> str:
    url = os.environ.get("HUAISHU_DATABASE_URL")
    if not url:
        return "embedded (SQLite records, in-process STRtrees)"
    from layers.stores.postgis.database import redact

    return f"PostGIS ({redact(url)})"


def report(results: Sequence[Result]) -> str:
    header = ["venues"] + [size_label(r.size) for r in results]
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
               f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    growth_header = ["same result size"] + header[1:] + [
        f"{header[-1]} / {header[1]}" if len(results) > 1 else "growth"]
    return (markdown_table(header, result_rows(results))
            + "\n\n" + markdown_table(growth_header, growth_rows(results))
            + f"\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
            + f"\nStore: {store_label()}\nMachine: {machine}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="venue counts, comma-separated (default 1000,100000,1000000)")
    parser.add_argument("--queries", type=int, default=1000,
                        help="queries of each kind per size (default 1000)")
    parser.add_argument("--workdir", type=Path, help="where to write the data (default: a "
                        "temporary directory, removed afterwards)")
    parser.add_argument("--database-url", help="a scratch PostGIS database "
                        "(postgresql://...) to run the app on; its layers and records are "
                        "overwritten (default: HUAISHU_DATABASE_URL, else the embedded store)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.database_url:  # the child process and the production server read it too
        if not args.database_url.startswith(("postgresql://", "postgres://")):
            parser.error(f"--database-url must start with postgresql://, "
                         f"not {args.database_url[:12]!r}")
        os.environ["HUAISHU_DATABASE_URL"] = args.database_url
    if args.child:
        print(json.dumps(measure_in_process(args.child, args.queries)))
        return 0
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be whole numbers separated by commas, not {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        parser.error("each size must be at least 1 venue")
    if args.queries < 20:
        parser.error("--queries must be at least 20")
    if args.workdir:
        results = run(sizes, args.queries, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="huaishu-scale-") as work:
            results = run(sizes, args.queries, Path(work))
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
