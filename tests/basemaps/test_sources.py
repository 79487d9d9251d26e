"""The configured basemap sources: the shipped defaults, files, and bad entries that stop
the start with a message in Chinese and English."""

import json
import subprocess
import sys

import pytest

from layers.basemaps.sources import BasemapConfigError, load
from server import ROOT, create_app
from tests.conftest import TEST_CONFIG

PLAIN = {"key": "office", "name": "办公室矢量", "url": "http://10.1.2.3/tiles/{z}/{x}/{y}.png"}


def test_the_defaults_are_osm_alone_without_a_key_and_tianditu_with_one():
    assert [s.key for s in load({}).sources] == ["osm"]
    keyed = load({"TIANDITU_KEY": "SECRET"})
    assert [(s.key, s.name, s.kind) for s in keyed.sources] == [
        ("osm", "OpenStreetMap", "vector"), ("tianditu", "天地图矢量", "vector"),
        ("tianditu_img", "天地图影像", "imagery")]
    assert keyed.keys() == ("none", "osm", "tianditu", "tianditu_img")
    imagery = keyed.get("tianditu_img")
    assert imagery.layer_ids == ("tianditu_img", "tianditu_img-labels")
    url = imagery.upstream_url("tianditu_img-labels", 15, 27000, 12603)
    assert url.startswith("https://t3.tianditu.gov.cn/cia_w/wmts?")  # (x + y) % 8
    assert "TILEMATRIX=15&TILEROW=12603&TILECOL=27000&tk=SECRET" in url
    assert "SECRET" not in repr(imagery)  # nor in a log line that shows a source
    assert not keyed.get("osm").seed  # OpenStreetMap's tile policy: no bulk downloads


def test_a_key_is_quoted_into_the_url_and_a_tms_row_flipped():
    source = load({"BASEMAPS": [{**PLAIN, "url": "https://h/{z}/{x}/{-y}.png?k={key}",
                                 "needs_key": True, "key_setting": "K"}],
                   "K": "a&b c"}).sources[0]
    assert source.upstream_url("office", 2, 1, 0) == "https://h/2/1/3.png?k=a%26b%20c"


def test_a_keyed_source_without_its_key_is_left_out():
    entries = [PLAIN, {**PLAIN, "key": "keyed", "url": PLAIN["url"] + "?tk={key}",
                       "needs_key": True, "key_setting": "OFFICE_KEY"}]
    assert [s.key for s in load({"BASEMAPS": entries}).sources] == ["office"]
    assert [s.key for s in load({"BASEMAPS": entries, "OFFICE_KEY": "x"}).sources] == [
        "office", "keyed"]


def test_sources_from_a_json_or_toml_file(tmp_path):
    path = tmp_path / "basemaps.json"
    path.write_text(json.dumps([PLAIN]), encoding="utf-8")
    assert load({"BASEMAPS_FILE": str(path)}).sources[0].name == "办公室矢量"
    toml = tmp_path / "basemaps.toml"
    toml.write_text('[[basemap]]\nkey = "office"\nname = "办公室影像"\nkind = "imagery"\n'
                    'url = "https://10.0.0.9/wmts?TILEMATRIX={TileMatrix}&TILEROW={TileRow}'
                    '&TILECOL={TileCol}"\nmax_zoom = 17\n', encoding="utf-8")
    source = load({"BASEMAPS_FILE": toml}).sources[0]
    assert (source.kind, source.max_zoom) == ("imagery", 17)
    assert source.upstream_url("office", 12, 3, 4).endswith("TILEMATRIX=12&TILEROW=4&TILECOL=3")


@pytest.mark.parametrize(("entry", "zh", "en"), [
    ("osm", "应为键值表", "must be a mapping"),
    ({"name": "x", "url": PLAIN["url"]}, "缺少 key", "key missing"),
    ({**PLAIN, "colour": "red"}, "未知字段 colour", "unknown fields colour"),
    ({**PLAIN, "key": "Office"}, "key 只能由", "key must match"),
    ({**PLAIN, "key": "none"}, "key 只能由", "not be 'none'"),
    ({**PLAIN, "kind": "satellite"}, "kind 应为", "kind must be"),
    ({**PLAIN, "max_zoom": 30}, "max_zoom 应在", "max_zoom must be"),
    ({**PLAIN, "max_zoom": "18"}, "max_zoom 类型错误", "max_zoom must be int"),
    ({**PLAIN, "url": "ftp://h/{z}/{x}/{y}"}, "http:// 或 https://", "http(s) URL"),
    ({**PLAIN, "url": "http://h/{z}/{x}.png"}, "缺少瓦片坐标", "needs {z}"),
    ({**PLAIN, "url": "http://h/{z}/{x}/{y}/{q}"}, "未知占位符 {q}", "unknown placeholders"),
    ({**PLAIN, "url": "http://t{s}.h/{z}/{x}/{y}"}, "subdomains", "subdomains is empty"),
    ({**PLAIN, "url": PLAIN["url"] + "?tk={key}"}, "needs_key 不一致", "exactly when needs_key"),
    ({**PLAIN, "url": PLAIN["url"] + "?tk={key}", "needs_key": True, "proxy": False},
     "密钥会写进页面", "must be proxied"),
])
def test_a_bad_entry_is_named_with_its_problem(entry, zh, en):
    with pytest.raises(BasemapConfigError) as caught:
        load({"BASEMAPS": [PLAIN | {"key": "first"}, entry], "TIANDITU_KEY": "k"})
    message = str(caught.value)
    assert message.startswith("底图配置有误:第 2 项") and zh in message
    assert "basemap configuration error: entry 2" in message and en in message


def test_duplicate_keys_a_bad_file_and_both_settings_are_refused(tmp_path):
    with pytest.raises(BasemapConfigError, match="底图键重复:office"):
        load({"BASEMAPS": [PLAIN, PLAIN]})
    bad = tmp_path / "basemaps.json"
    bad.write_text("[{", encoding="utf-8")
    with pytest.raises(BasemapConfigError, match="格式错误"):
        load({"BASEMAPS_FILE": bad})
    with pytest.raises(BasemapConfigError, match="无法读取"):
        load({"BASEMAPS_FILE": tmp_path / "missing.json"})
    with pytest.raises(BasemapConfigError, match="只能设置一个"):
        load({"BASEMAPS": [PLAIN], "BASEMAPS_FILE": bad})


def test_a_bad_entry_stops_the_start(tmp_path):
    with pytest.raises(BasemapConfigError, match="kind 应为"):
        create_app({**TEST_CONFIG, "INSPECTIONS_DB": tmp_path / "db.sqlite",
                    "BASEMAPS": [{**PLAIN, "kind": "satellite"}]})


def test_the_production_start_ends_with_the_message(tmp_path):
    bad = tmp_path / "basemaps.json"
    bad.write_text(json.dumps([{**PLAIN, "url": "http://h/{z}"}]), encoding="utf-8")
    script = "import server; server.production_app()"
    env = {"HUAISHU_BASEMAPS_FILE": str(bad), "HUAISHU_INSPECTIONS_DB": str(tmp_path / "db"),
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == 2
    assert "服务未启动" in done.stderr and "底图配置有误:第 1 项 (office)" in done.stderr
    assert "basemap configuration error" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("setting", "value", "text"), [
    ("TILE_ZOOMS", (18, 10), "TILE_ZOOMS 应为"),
    ("TILE_ZOOMS", (10, 30), "TILE_ZOOMS 应为"),
    ("TILE_ZOOMS", "12-18", "TILE_ZOOMS 应为"),
    ("TILE_AREA", (117.0, 36.0, 116.0, 37.0), "TILE_AREA 应为"),
    ("TILE_AREA", (117.0, 36.0), "TILE_AREA 应为"),
])
def test_bad_area_settings_stop_the_start(tmp_path, setting, value, text):
    with pytest.raises(BasemapConfigError, match=text):
        create_app({**TEST_CONFIG, "INSPECTIONS_DB": tmp_path / "db.sqlite", setting: value})
