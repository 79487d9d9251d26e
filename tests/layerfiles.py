"""Helpers for tests that import and export layer files: a copy of the shipped data,
the CLI over it, and the shipped features to compare with."""

import functools
import hashlib
import json
import shutil
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import shape

from layers.stores.layers import LayerStore
from tests.conftest import make_app

GEODATA = Path(__file__).resolve().parents[1] / "geodata"


def copy_geodata(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for path in [*GEODATA.glob("*.geojson"), *GEODATA.glob("*.csv")]:
        shutil.copy(path, directory)
    return directory


# A point inside the sub-district, away from its boundary: where edit tests put a venue.
INSIDE = (116.96502, 36.67141)


def edits_app(tmp_path: Path):
    """An app whose layers its test edits: its own database, seeded from a copy of the
    shipped files (the single-feature edit tests of /inspect and OGC Part 4; run on the
    store of the `store_backend` fixture)."""
    return make_app(tmp_path / "edits.sqlite", DATA_DIR=copy_geodata(tmp_path / "g"))


def layers_of(directory: Path) -> LayerStore:
    """The layers of a directory of files, as an import checks against them (cached: the
    tests do not change the files they check against)."""
    return _layers_of(str(directory))


@functools.cache
def _layers_of(directory: str) -> LayerStore:
    return LayerStore.from_directory(Path(directory))


def shipped(name: str) -> list[dict]:
    return json.loads((GEODATA / f"{name}.geojson").read_text(encoding="utf-8"))["features"]


def _app(source):
    """The app of a Cli, a test client, or the app itself."""
    return getattr(source, "app", None) or getattr(source, "application", source)


def stored(source, name: str) -> list[dict]:
    """The features of a layer's current version in the database of an app (or a Cli's)."""
    return _app(source).extensions["layer_history"].features(name)[1]


def head(source, name: str) -> int | None:
    """A layer's current version in the database of an app (or a Cli's)."""
    return _app(source).extensions["layer_history"].heads().get(name)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shipped_frame(name: str, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """A shipped layer as a table (lists joined with 、), in `crs`."""
    features = shipped(name)
    rows = [{"id": f["id"], **{k: "、".join(v) if isinstance(v, list) else v
                               for k, v in f["properties"].items()}} for f in features]
    frame = gpd.GeoDataFrame(rows, geometry=[shape(f["geometry"]) for f in features],
                             crs="EPSG:4326")
    return frame.to_crs(crs)


def assert_same_features(got: list[dict], expected: list[dict], tolerance: float = 1e-7,
                         ignore: tuple[str, ...] = ()) -> None:
    """Same ids in the same order, equal properties, geometries equal within `tolerance`°."""
    assert [f["id"] for f in got] == [f["id"] for f in expected]
    for a, b in zip(got, expected, strict=True):
        pa = {k: v for k, v in a["properties"].items() if k not in ignore}
        pb = {k: v for k, v in b["properties"].items() if k not in ignore}
        assert pa == pb, a["id"]
        ga, gb = shapely.normalize(shape(a["geometry"])), shapely.normalize(shape(b["geometry"]))
        assert ga.equals_exact(gb, tolerance), (a["id"], ga.wkt[:200], gb.wkt[:200])


class Cli:
    """`flask layers ...` over an app whose DATA_DIR is `data_dir`."""

    def __init__(self, data_dir: Path, db: Path):
        self.data_dir = data_dir
        self.app = make_app(db, DATA_DIR=data_dir)
        self.runner = self.app.test_cli_runner()

    def __call__(self, *args: str):
        return self.runner.invoke(args=["layers", *map(str, args)])
