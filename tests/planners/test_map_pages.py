"""The overview page and the print view as HTML (their behaviour: tests/browser/)."""

import json
import re

import pytest

from layers.catalogue.entries import CATALOGUE, GARBAGE_KINDS
from layers.catalogue.styles import THEMED_VALUES, VENUE_STATUS_COLORS, theme
from layers.planners.maps import HIDDEN_AT_START
from layers.records.inspections import STATUSES
from layers.web.maps import MapOptions, layer_config
from tests.conftest import make_app

KEY = "0123456789abcdef0123456789abcdef"


def base_layer_names(html):
    """The names of the layer control's base layers (folium writes them JSON-escaped)."""
    block = re.search(r"base_layers : \{(.*?)\}", html, re.S).group(1)
    return [json.loads(f'"{name}"') for name in re.findall(r'"((?:[^"\\]|\\.)*)" :', block)]


def test_every_allowed_value_of_a_styled_field_has_a_style():
    for (layer_name, field_name), values in THEMED_VALUES.items():
        layer = next(lyr for lyr in CATALOGUE if lyr.name == layer_name)
        assert tuple(layer.field(field_name).choices) == values, (layer_name, field_name)
        assert theme(layer) is not None
    assert tuple(GARBAGE_KINDS) == THEMED_VALUES[("garbage", "kinds")]
    assert set(VENUE_STATUS_COLORS) == set(STATUSES)


def test_popup_rows_name_each_unit_once():
    rows = {layer.name: {r["field"]: r for r in layer_config(layer, MapOptions(), 1)["popup"]}
            for layer in CATALOGUE}
    for layer_rows in rows.values():
        for row in layer_rows.values():
            assert not (row["unit"] and row["label"].endswith(f"({row['unit']})")), row
    assert rows["parking"]["spaces"] == {"field": "spaces", "label": "泊位(个,示意)", "unit": ""}
    assert rows["garbage"]["bins_recyclable"]["unit"] == "个"  # "可回收物桶(示意)": 3 个
    assert rows["venues"]["open_hazards"]["unit"] == "处"


def test_overview_page_has_the_panel_and_loads_plugins_locally(client):
    html = client.get("/").get_data(as_text=True)
    for element_id in ("layer-tree", "community-filter", "search", "summary",
                       "choropleth-indicator", "coverage-toggles", "export-csv", "print-link"):
        assert f'id="{element_id}"' in html
    for asset in ("leaflet.markercluster/dist/leaflet.markercluster.js",
                  "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.js",
                  "js/map-overlays.js", "js/map-panel.js", "css/map.css"):
        assert f"/static/node_modules/{asset}" in html or f"/static/{asset}" in html
    assert "L.control.scale()" not in html  # feet and miles: the page adds a metric one
    assert base_layer_names(html) == ["无底图(离线)", "OpenStreetMap"]  # no key, no 天地图
    assert "天地图" not in html and "tianditu" not in html
    assert len(html) < 60_000


def test_overview_page_offers_tianditu_through_the_proxy_and_never_the_key(tmp_path):
    app = make_app(tmp_path / "db.sqlite", TIANDITU_KEY=KEY)
    html = app.test_client().get("/").get_data(as_text=True)
    assert base_layer_names(html) == ["无底图(离线)", "OpenStreetMap", "天地图矢量", "天地图影像"]
    for layer_id in ("osm", "tianditu", "tianditu-labels", "tianditu_img", "tianditu_img-labels"):
        assert f'"/tiles/{layer_id}/{{z}}/{{x}}/{{y}}"' in html
    assert KEY not in html and "tianditu.gov.cn" not in html
    assert "tile.openstreetmap.org" not in html
    assert "无底图(离线) / OpenStreetMap / 天地图矢量 / 天地图影像" in html  # the panel's hint


def test_the_inspectors_page_offers_the_same_basemaps(client, tmp_path):
    def basemaps(html):
        config = re.search(r'id="inspect-config">(.*?)</script>', html, re.S).group(1)
        return json.loads(config)["basemaps"]

    plain = basemaps(client.get("/inspect").get_data(as_text=True))
    assert [b["name"] for b in plain] == ["无底图(离线)", "OpenStreetMap"]
    assert plain[0]["tiles"] == []  # the default: nothing from the internet
    html = make_app(tmp_path / "db.sqlite", TIANDITU_KEY=KEY).test_client().get(
        "/inspect").get_data(as_text=True)
    keyed = basemaps(html)
    assert [b["name"] for b in keyed] == [
        "无底图(离线)", "OpenStreetMap", "天地图矢量", "天地图影像"]
    assert [b["kind"] for b in keyed] == [None, "vector", "vector", "imagery"]
    assert [t["url"] for t in keyed[3]["tiles"]] == [
        "/tiles/tianditu_img/{z}/{x}/{y}", "/tiles/tianditu_img-labels/{z}/{x}/{y}"]
    assert all(t["minZoom"] == 10 and t["maxNativeZoom"] == 18 for t in keyed[2]["tiles"])
    assert KEY not in html


def test_tianditu_key_from_the_environment_stays_text(tmp_path, monkeypatch):
    monkeypatch.setenv("HUAISHU_TIANDITU_KEY", "0123456789")
    app = make_app(tmp_path / "db.sqlite")
    assert app.config["TIANDITU_KEY"] == "0123456789"
    assert app.extensions["basemaps"].get("tianditu").api_key == "0123456789"
    assert "0123456789" not in app.test_client().get("/").get_data(as_text=True)


def test_print_view_shows_title_notes_and_date(client):
    html = client.get("/print?layers=venues,boundary&community=裕园社区&indicator=venues"
                      "&coverage=garbage,reading&title=<b>槐树</b>").get_data(as_text=True)
    assert "&lt;b&gt;槐树&lt;/b&gt;" in html and "<b>槐树</b>" not in html
    assert "范围:裕园社区" in html and "安全监管场所数" in html and "15分钟阅读圈" in html
    assert "制图日期:2026年11月25日" in html
    assert "js/map-print.js" in html


def print_state(client, query):
    html = client.get(f"/print?{query}").get_data(as_text=True)
    return json.loads(re.search(r'id="page-config">(.*?)</script>', html, re.S).group(1))["state"]


def test_print_view_shows_the_layers_asked_for_none_when_none(client):
    # A bare /print: the layers the overview opens with (not the summary's thematic ones).
    assert print_state(client, "")["layers"] == [layer.name for layer in CATALOGUE
                                                 if layer.name not in HIDDEN_AT_START]
    assert print_state(client, "layers=venues,grid")["layers"] == ["grid", "venues"]
    # Every layer switched off on the map: the print shows none, only the choropleth.
    state = print_state(client, "layers=&indicator=venues")
    assert state["layers"] == [] and state["indicator"] == "venues"


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("layers=nope", "nope"),
        ("community=火星社区", "火星社区"),
        ("indicator=nope", "nope"),
        ("coverage=nope", "nope"),
        ("basemap=google", "google"),
        ("basemap=tianditu", "tianditu"),  # no key configured
        ("bbox=1,2", "four numbers"),
        ("title=" + "长" * 61, "标题过长"),
    ],
)
def test_print_view_rejects_bad_state(client, query, text):
    response = client.get(f"/print?{query}")  # a page: the error page, in Chinese
    assert response.status_code == 400 and 'hs-error-page' in response.get_data(
        as_text=True)
    assert text in response.get_data(as_text=True)
    response = client.get(f"/print?{query}", headers={"Accept": "application/json"})
    assert text in response.get_json()["error"]
