"""Synthetic data at scale: a data directory with N venues, made reproducibly.

The directory holds every shipped layer (geodata/) and the shipped inspection
history, and a venues layer of N features: the shipped venues first (so the
inspection history still refers to them and statuses vary), then synthetic
ones drawn uniformly inside the boundary with a fixed seed. The same N and
seed give the same file, byte for byte.

`extent="jinan"` also replaces the boundary with the central city of Jinan
(about 36 x 18 km, 历下 槐荫 市中 天桥 and part of 历城), which holds the
shipped layers: city-wide data at a city's density. `extent="subdistrict"`
keeps the sub-district's own boundary (1.64 km²): a stress test of density.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely

from layers.catalogue.entries import COMMUNITIES, FIRM, FIRM_KINDS, NINE_SMALL, NINE_SMALL_KINDS

ROOT = Path(__file__).resolve().parents[1]
GEODATA = ROOT / "geodata"
# Central Jinan, lon/lat (WGS84): holds the sub-district (116.95-116.98 E, 36.65-36.69 N).
JINAN_CENTRE = (116.80, 36.58, 117.20, 36.74)
STREETS = ("经四路", "经七路", "经十路", "纬二路", "纬六路", "顺河街", "泉城路", "二环西路",
           "北园大街", "历山路", "解放路", "工业南路")
SHOP_WORDS = ("顺发", "和兴", "康宁", "泉润", "鑫源", "福满", "金泰", "惠民", "明湖", "华泰")
Extent = Literal["jinan", "subdistrict"]


def jinan_boundary() -> dict[str, Any]:
    """A boundary FeatureCollection covering central Jinan (the synthetic city extent)."""
    shipped = json.loads((GEODATA / "boundary.geojson").read_text(encoding="utf-8"))
    feature = shipped["features"][0]
    # Densified: a lon/lat box's edges curve slightly in metres (EPSG:4548).
    box = shapely.segmentize(shapely.box(*JINAN_CENTRE), 0.001)
    return {
        "type": "FeatureCollection",
        "name": "boundary",
        "features": [{**feature, "properties": {**feature["properties"],
                                                "name": "济南中心城区(合成数据)"},
                      "geometry": shapely.geometry.mapping(box)}],
    }


def random_points(count: int, area: shapely.Geometry, rng: np.random.Generator) -> np.ndarray:
    """`count` points (lon, lat) drawn uniformly inside `area` (rejection sampling)."""
    minx, miny, maxx, maxy = area.bounds
    shapely.prepare(area)
    found: list[np.ndarray] = []
    have = 0
    while have < count:
        batch = rng.uniform((minx, miny), (maxx, maxy), size=(max(1024, 2 * (count - have)), 2))
        inside = batch[shapely.contains_xy(area, batch[:, 0], batch[:, 1])]
        found.append(inside)
        have += len(inside)
    return np.concatenate(found)[:count]


def synthetic_venues(count: int, area: shapely.Geometry, seed: int = 8,
                     shipped: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A venues FeatureCollection of `count` features: `shipped` first, then synthetic ones."""
    rng = np.random.default_rng(seed)
    features = list((shipped or [])[:count])
    extra = count - len(features)
    points = np.round(random_points(extra, area, rng), 7)
    kinds = NINE_SMALL_KINDS + FIRM_KINDS
    kind_index = rng.integers(0, len(kinds), extra)
    community_index = rng.integers(0, len(COMMUNITIES), extra)
    numbers = rng.integers(1, 999, extra)
    flags = rng.random((extra, 2)) < (0.9, 0.6)
    for i in range(extra):
        kind = kinds[kind_index[i]]
        street = STREETS[i % len(STREETS)]
        features.append({
            "type": "Feature",
            "id": f"S{i + 1:07d}",
            "properties": {
                "name": f"{SHOP_WORDS[i % len(SHOP_WORDS)]}{kind.removeprefix('小')}{i + 1}",
                "category": FIRM if kind in FIRM_KINDS else NINE_SMALL,
                "kind": kind,
                "address": f"{street}{int(numbers[i])}号",
                "community": COMMUNITIES[community_index[i]],
                "quancheng_app": bool(flags[i, 0]),
                "pledge_signed": bool(flags[i, 1]),
            },
            "geometry": {"type": "Point",
                         "coordinates": [float(points[i, 0]), float(points[i, 1])]},
        })
    return {"type": "FeatureCollection", "name": "venues", "features": features}


def write_data_dir(directory: Path, venues: int, extent: Extent = "jinan", seed: int = 8
                   ) -> Path:
    """A complete DATA_DIR with `venues` venues; returns `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in GEODATA.iterdir():
        if path.suffix in (".geojson", ".csv", ".json") and path.name != "venues.geojson":
            shutil.copyfile(path, directory / path.name)
    if extent == "jinan":
        boundary = jinan_boundary()
        (directory / "boundary.geojson").write_text(
            json.dumps(boundary, ensure_ascii=False), encoding="utf-8")
    else:
        boundary = json.loads((GEODATA / "boundary.geojson").read_text(encoding="utf-8"))
    # 10 m (about 0.0001°) inside the boundary: clear of its tolerance.
    area = shapely.union_all([shapely.geometry.shape(f["geometry"])
                              for f in boundary["features"]]).buffer(-0.0001)
    shipped = json.loads((GEODATA / "venues.geojson").read_text(encoding="utf-8"))["features"]
    collection = synthetic_venues(venues, area, seed, shipped)
    with open(directory / "venues.geojson", "w", encoding="utf-8") as f:
        json.dump(collection, f, ensure_ascii=False, separators=(",", ":"))
    return directory
