"""Upload bombs (layers/data/limits.py): what an import may hold is checked before the
work, and a refusal says in Chinese which limit and what the file held."""

import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pyogrio
import pytest

from layers.data.limits import ImportLimits
from layers.data.sources import SourceError, read_source
from tests.conftest import csrf_token, log_in, make_app
from tests.layerfiles import copy_geodata, head, shipped, shipped_frame

ROOT = Path(__file__).resolve().parents[2]
PARKING_CORNER = (116.9600, 36.6650)


def polygon_feature(vertices: int, fid: str = "P9001") -> dict:
    """A parking lot whose outline has `vertices` points (a fine circle-ish ring)."""
    feature = dict(shipped("parking")[0])
    x, y = PARKING_CORNER
    ring = [[round(x + 0.0005 * (i % 2), 7), round(y + 0.0005 * i / vertices, 7)]
            for i in range(vertices - 1)]
    ring.append(ring[0])
    return {**feature, "id": fid, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    return path


def write_big_geojson(path: Path, vertices: int) -> Path:
    """One polygon of `vertices` positions, written as a stream (the test's own memory
    stays small): about 17 bytes a vertex."""
    props = json.dumps(shipped("parking")[0]["properties"], ensure_ascii=False)
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "P9001",'
                f' "properties": {props}, "geometry": {{"type": "Polygon", "coordinates": [[')
        step = 1e-9
        for i in range(vertices - 1):
            f.write(f"[116.96,{36.665 + i * step:.9f}],")
        f.write("[116.96,36.665]]]}}]}")
    return path


def shapefile_bomb(path: Path, expanded_mb: int) -> Path:
    """A zipped Shapefile (the real parking layer) whose .dbf is padded with zeros to
    unpack to `expanded_mb` MB: a few hundred KB on the wire."""
    folder = path.parent / "shp"
    folder.mkdir()
    pyogrio.write_dataframe(shipped_frame("parking")[["id", "name", "geometry"]],
                            folder / "parking.shp", encoding="UTF-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for part in folder.iterdir():
            if part.suffix != ".dbf":
                z.write(part, part.name)
        with z.open("parking.dbf", "w", force_zip64=True) as dbf:
            dbf.write((folder / "parking.dbf").read_bytes())
            zeros = bytes(8 * 1024 * 1024)
            for _ in range(expanded_mb // 8):
                dbf.write(zeros)
    return path


def refused(path: Path, limits: ImportLimits | None = None) -> str:
    with pytest.raises(SourceError) as e:
        read_source(path, limits=limits)
    message = str(e.value)
    assert "\u4e00" <= message.removeprefix(f"{path.name}: ")[0] <= "\u9fff", message
    return message


def test_an_archive_that_unpacks_past_the_limit_is_refused_before_unpacking(tmp_path):
    bomb = shapefile_bomb(tmp_path / "parking.zip", expanded_mb=64)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    began = time.monotonic()
    message = refused(bomb, ImportLimits(max_expanded_bytes=32 * 1024 * 1024))
    assert time.monotonic() - began < 1
    assert "解压后共" in message and "超过上限 32 MB" in message


def test_an_archive_of_too_many_files_is_refused(tmp_path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as z:
        for n in range(12):
            z.writestr(f"part{n}.txt", "x")
    assert "12 个文件" in refused(path, ImportLimits(max_archive_files=10))


def test_a_feature_of_too_many_vertices_is_refused(tmp_path):
    path = write_geojson(tmp_path / "parking.geojson", [polygon_feature(2_000)])
    message = refused(path, ImportLimits(max_vertices_per_feature=1_000))
    assert "每个要素的上限 1,000" in message and "第 1 个要素(2,000 个)" in message


def test_a_layer_of_too_many_vertices_is_refused_before_parsing(tmp_path, monkeypatch):
    path = write_geojson(tmp_path / "parking.geojson",
                         [polygon_feature(600, f"P9{n:03d}") for n in range(5)])
    parsed = []
    monkeypatch.setattr("layers.data.sources.json.loads",
                        lambda *a, **k: parsed.append(1) or {})
    assert "超过上限 1,000 个" in refused(path, ImportLimits(max_vertices=1_000,
                                                            max_features=10))
    assert not parsed  # refused from the bytes, not after the JSON was read


def test_too_many_features_are_refused(tmp_path):
    csv = tmp_path / "garbage.csv"
    csv.write_text("id,name,lon,lat\n" + "".join(f"G{n},x,116.96,36.665\n" for n in range(30)),
                   encoding="utf-8")
    assert "30 个要素" in refused(csv, ImportLimits(max_features=20))
    gpkg = tmp_path / "parking.gpkg"
    pyogrio.write_dataframe(shipped_frame("parking"), gpkg)
    count = len(shipped("parking"))
    assert f"{count:,} 个要素" in refused(gpkg, ImportLimits(max_features=count - 1))


def test_files_within_the_limits_read_as_before(tmp_path):
    path = write_geojson(tmp_path / "parking.geojson", shipped("parking"))
    source = read_source(path, limits=ImportLimits())
    assert len(source.records) == len(shipped("parking"))


def test_the_admin_page_and_the_cli_refuse_a_bomb_in_chinese(tmp_path):
    data_dir = copy_geodata(tmp_path / "geodata")
    app = make_app(tmp_path / "inspections.sqlite", DATA_DIR=data_dir,
                   IMPORT_MAX_EXPANDED_BYTES=16 * 1024 * 1024)
    before = head(app, "parking")
    bomb = shapefile_bomb(tmp_path / "parking.zip", expanded_mb=32)
    admin = log_in(app.test_client(), "chief", "admin")
    page = admin.post("/admin/layers/import", content_type="multipart/form-data", data={
        "layer": "parking", "crs": "", "action": "import", "csrf_token": csrf_token(admin),
        "file": (io.BytesIO(bomb.read_bytes()), "parking.zip")})
    assert page.status_code == 400
    assert "解压后共" in page.get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["layers", "import", str(bomb), "--layer",
                                                "parking"])
    assert result.exit_code == 1 and "解压后共" in result.output
    assert head(app, "parking") == before


REFUSE_IN_CHILD = """
import json, resource, sys, time
from pathlib import Path
from layers.data.sources import SourceError, read_source
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = time.monotonic()
try:
    read_source(Path(sys.argv[1]))
    outcome = "read"
except SourceError as e:
    outcome = str(e)
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - began,
                  "grew_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before}))
"""


@pytest.mark.parametrize("kind", ["geojson", "shapefile"])
def test_a_100_mb_bomb_is_refused_within_5_s_and_200_mb(tmp_path, kind):
    """Measured in a child process of its own (peak RSS), with the default limits."""
    if kind == "geojson":
        bomb = write_big_geojson(tmp_path / "parking.geojson", vertices=6_000_000)
    else:
        bomb = shapefile_bomb(tmp_path / "parking.zip", expanded_mb=560)
    assert kind == "shapefile" or bomb.stat().st_size > 100 * 1024 * 1024
    run = subprocess.run([sys.executable, "-c", REFUSE_IN_CHILD, str(bomb)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    figures = json.loads(run.stdout)
    assert figures["outcome"] != "read", figures
    assert "超过上限" in figures["outcome"], figures
    assert figures["seconds"] < 5, figures
    assert figures["grew_kb"] < 200 * 1024, figures
