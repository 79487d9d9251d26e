"""Server-side clusters of a point layer, by zoom: the map of a million points.

At load, each point layer gets a `ClusterIndex`: for every zoom from MIN_ZOOM
to MAX_ZOOM, a square grid in EPSG:4548 metres whose cells are CELL_PX screen
pixels wide at that zoom, with each occupied cell's count, centroid (mean of
its points in metres) and lon/lat bounds, and the layer's positions sorted by
cell. A request then touches only the cells of its bbox (binary searches in
the sorted cell keys), never the whole layer:

- cells wholly inside the bbox answer from their aggregates;
- cells on the bbox's edge are counted exactly from their own points;

so the counts add up to the features in the bbox. When the bbox holds no more
than FEATURE_LIMIT features they are returned themselves, and in a clustered
answer a cell with one feature is that feature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from layers.errors import BadRequest
from layers.geo.crs import METRIC, WGS84, metric_to_lonlat_arrays, transformer

MIN_ZOOM = 8  # coarser views use this grid (cells of about 36 km)
MAX_ZOOM = 18  # finer views use this grid (cells of about 23 m)
MAX_REQUEST_ZOOM = 22
CELL_PX = 60  # a cell's width on screen, in pixels
FEATURE_LIMIT = 1000  # a view holding no more features gets them, not clusters
MAX_CELLS = 20000  # grid cells one request may span (a bbox too large for its zoom)
# Web Mercator ground resolution at zoom 0 on the equator, metres per 256-pixel-tile pixel.
EQUATOR_M_PER_PX = 2 * math.pi * 6378137 / 256

_TO_METRIC = transformer(WGS84, METRIC, always_xy=True)


def cell_size_m(zoom: int, latitude: float) -> float:
    """Ground width in metres of CELL_PX pixels at a Web Mercator zoom and latitude."""
    return CELL_PX * EQUATOR_M_PER_PX * math.cos(math.radians(latitude)) / 2 ** zoom


@dataclass(frozen=True)
class Grid:
    """One zoom's cells, sorted by key (ix * rows + iy)."""

    zoom: int
    size: float  # cell width, metres
    rows: int  # iy runs over 0..rows-1
    keys: np.ndarray  # int64, ascending
    starts: np.ndarray  # where each cell's positions begin in `order`
    counts: np.ndarray
    sum_x: np.ndarray  # metres, for the centroid
    sum_y: np.ndarray
    bounds: np.ndarray  # (cells, 4): min lon, min lat, max lon, max lat of the points
    order: np.ndarray  # layer positions sorted by cell
    ends: np.ndarray  # starts, then len(order): cell i's positions are order[ends[i]:ends[i+1]]


@dataclass(frozen=True)
class Cluster:
    count: int
    x: float  # centroid, metres
    y: float
    bounds: tuple[float, float, float, float]  # lon/lat of its points
    position: int | None  # the feature itself when count == 1


@dataclass(frozen=True)
class ClusterView:
    zoom: int  # the grid's zoom
    total: int  # features in the bbox
    clusters: list[Cluster] | None  # None: few enough, see `positions`
    positions: list[int]  # the features themselves (FEATURE_LIMIT or fewer), in layer order


class ClusterIndex:
    """Per-zoom grid aggregates of a point layer's positions (built once, at load)."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, x: np.ndarray, y: np.ndarray):
        self.lon, self.lat, self.x, self.y = lon, lat, x, y
        self.origin = (float(x.min()), float(y.min())) if len(x) else (0.0, 0.0)
        self.extent = ((float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
                       if len(x) else None)
        latitude = float(lat.mean()) if len(lat) else 36.66
        self.grids = {z: self._grid(z, cell_size_m(z, latitude))
                      for z in range(MIN_ZOOM, MAX_ZOOM + 1)}

    @classmethod
    def from_points(cls, lonlat: np.ndarray, metric: np.ndarray) -> ClusterIndex:
        """From (n, 2) arrays of lon/lat and EPSG:4548 coordinates."""
        return cls(lonlat[:, 0], lonlat[:, 1], metric[:, 0], metric[:, 1])

    def _cells(self, size: float) -> tuple[np.ndarray, np.ndarray]:
        ix = np.floor((self.x - self.origin[0]) / size).astype(np.int64)
        iy = np.floor((self.y - self.origin[1]) / size).astype(np.int64)
        return ix, iy

    def _grid(self, zoom: int, size: float) -> Grid:
        ix, iy = self._cells(size)
        rows = int(iy.max()) + 1 if len(iy) else 1
        keys = ix * rows + iy
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]) \
            if len(keys) else np.zeros(0, dtype=np.int64)
        counts = np.diff(np.r_[starts, len(keys)])

        def per_cell(values: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
            if not len(starts):
                return np.zeros(0)
            return ufunc.reduceat(values[order], starts)

        bounds = np.column_stack([per_cell(self.lon, np.minimum), per_cell(self.lat, np.minimum),
                                  per_cell(self.lon, np.maximum), per_cell(self.lat, np.maximum)])
        return Grid(zoom, size, rows, sorted_keys[starts], starts, counts,
                    per_cell(self.x, np.add), per_cell(self.y, np.add), bounds,
                    order.astype(np.int64), np.r_[starts, len(keys)].astype(np.int64))

    def view(self, bbox: Sequence[float], zoom: float) -> ClusterView:
        """The clusters (or the features) of a lon/lat bbox at a map zoom."""
        grid = self.grids[min(max(int(math.floor(zoom)), MIN_ZOOM), MAX_ZOOM)]
        rows = self._rows_in(grid, bbox)
        minx, miny, maxx, maxy = bbox
        b = grid.bounds[rows]
        whole = (b[:, 0] >= minx) & (b[:, 1] >= miny) & (b[:, 2] <= maxx) & (b[:, 3] <= maxy)
        touching = (b[:, 2] >= minx) & (b[:, 3] >= miny) & (b[:, 0] <= maxx) & (b[:, 1] <= maxy)
        edge_rows = rows[touching & ~whole]
        whole_rows = rows[whole]
        # Edge cells: their own points, each tested against the bbox.
        edge_positions = [grid.order[grid.starts[r]:grid.starts[r] + grid.counts[r]]
                          for r in edge_rows]
        edge_kept = [p[(self.lon[p] >= minx) & (self.lon[p] <= maxx)
                       & (self.lat[p] >= miny) & (self.lat[p] <= maxy)] for p in edge_positions]
        total = int(grid.counts[whole_rows].sum()) + sum(len(p) for p in edge_kept)
        if total <= FEATURE_LIMIT:
            parts = [grid.order[grid.starts[r]:grid.starts[r] + grid.counts[r]]
                     for r in whole_rows] + edge_kept
            positions = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
            return ClusterView(grid.zoom, total, None, positions.tolist())
        clusters = [self._whole_cluster(grid, int(r)) for r in whole_rows]
        clusters += [self._cluster(p) for p in edge_kept if len(p)]
        return ClusterView(grid.zoom, total, clusters, [])

    def _rows_in(self, grid: Grid, bbox: Sequence[float]) -> np.ndarray:
        """Rows of the cells that may hold points of the bbox (a binary search per column)."""
        if self.extent is None:
            return np.zeros(0, dtype=np.int64)
        minx, miny = max(bbox[0], self.extent[0]), max(bbox[1], self.extent[1])
        maxx, maxy = min(bbox[2], self.extent[2]), min(bbox[3], self.extent[3])
        if minx > maxx or miny > maxy:
            return np.zeros(0, dtype=np.int64)
        x0, y0, x1, y1 = _TO_METRIC.transform_bounds(minx, miny, maxx, maxy)
        ox, oy = self.origin
        ix0 = max(math.floor((x0 - ox) / grid.size) - 1, 0)
        ix1 = math.floor((x1 - ox) / grid.size)
        iy0 = max(math.floor((y0 - oy) / grid.size) - 1, 0)
        iy1 = min(math.floor((y1 - oy) / grid.size), grid.rows - 1)
        columns = ix1 - ix0 + 1
        if columns * (iy1 - iy0 + 1) > MAX_CELLS:
            raise BadRequest(f"范围过大,请放大地图后再试 (bbox is too large for zoom {grid.zoom}: "
                             f"it spans over "
                             f"{MAX_CELLS} cells of {grid.size:.0f} m; zoom out or send the "
                             "map's visible bbox)")
        ix = np.arange(ix0, ix1 + 1, dtype=np.int64)
        lo = np.searchsorted(grid.keys, ix * grid.rows + iy0, side="left")
        hi = np.searchsorted(grid.keys, ix * grid.rows + iy1, side="right")
        if not (hi > lo).any():
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True) if b > a])

    def near(self, x: float, y: float, distance: float) -> np.ndarray:
        """Positions of the points within `distance` of (x, y) in metres (a planar test).

        The cells of a grid about distance/8 wide that cover the circle's square
        give the candidates, a column of cells at a time: no per-point work
        outside that square.
        """
        wanted = distance / 8
        grid = min(self.grids.values(), key=lambda g: abs(math.log(g.size / wanted)))
        ox, oy = self.origin
        ix0 = max(math.floor((x - distance - ox) / grid.size), 0)
        ix1 = math.floor((x + distance - ox) / grid.size)
        iy0 = max(math.floor((y - distance - oy) / grid.size), 0)
        iy1 = min(math.floor((y + distance - oy) / grid.size), grid.rows - 1)
        if ix1 < ix0 or iy1 < iy0:
            return np.zeros(0, dtype=np.int64)
        ix = np.arange(ix0, ix1 + 1, dtype=np.int64)
        # Each column's cells iy0..iy1 are consecutive rows, their points one slice of `order`.
        bounds = grid.ends
        lo = bounds[np.searchsorted(grid.keys, ix * grid.rows + iy0, side="left")]
        hi = bounds[np.searchsorted(grid.keys, ix * grid.rows + iy1, side="right")]
        slices = [grid.order[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a]
        if not slices:
            return np.zeros(0, dtype=np.int64)
        candidates = np.concatenate(slices)
        plane = np.hypot(self.x[candidates] - x, self.y[candidates] - y)
        return candidates[plane <= distance]

    def _whole_cluster(self, grid: Grid, row: int) -> Cluster:
        count = int(grid.counts[row])
        position = int(grid.order[grid.starts[row]]) if count == 1 else None
        minx, miny, maxx, maxy = (float(v) for v in grid.bounds[row])
        return Cluster(count, float(grid.sum_x[row]) / count, float(grid.sum_y[row]) / count,
                       (minx, miny, maxx, maxy), position)

    def _cluster(self, positions: np.ndarray) -> Cluster:
        lon, lat = self.lon[positions], self.lat[positions]
        return Cluster(len(positions), float(self.x[positions].mean()),
                       float(self.y[positions].mean()),
                       (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())),
                       int(positions[0]) if len(positions) == 1 else None)


def cluster_collection(view: ClusterView, features: Sequence[Mapping[str, Any]],
                       live: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The view as GeoJSON: cluster points (`cluster`, `count`, `bbox`) and features."""

    def feature(position: int) -> dict[str, Any]:
        f = features[position]
        extra = (live or {}).get(f["id"])
        return {**f, "properties": {**f["properties"], **extra}} if extra else dict(f)

    if view.clusters is None:
        out = [feature(p) for p in view.positions]
    else:
        many = [c for c in view.clusters if c.position is None]
        lon, lat = metric_to_lonlat_arrays(np.array([c.x for c in many]),
                                           np.array([c.y for c in many]))
        out = [feature(c.position) for c in view.clusters if c.position is not None]
        out += [
            {
                "type": "Feature",
                "id": f"cluster-{view.zoom}-{i}",
                "geometry": {"type": "Point",
                             "coordinates": [round(float(lon[i]), 7), round(float(lat[i]), 7)]},
                "properties": {"cluster": True, "count": c.count,
                               "bbox": [round(v, 7) for v in c.bounds]},
            }
            for i, c in enumerate(many)
        ]
    return {"type": "FeatureCollection", "zoom": view.zoom, "clustered": view.clusters is not None,
            "total": view.total, "features": out}


def live_positions(view: ClusterView) -> list[int]:
    """The positions of the features a view returns as themselves."""
    if view.clusters is None:
        return view.positions
    return [c.position for c in view.clusters if c.position is not None]
