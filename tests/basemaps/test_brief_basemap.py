"""A basemap under the leaders' brief: tiles placed on the extract, the PDF drawn on them,
and the fallback when they cannot be had."""

import io
import math
import re

import pytest
from pypdf import PdfReader

from layers.basemaps.area import TileArea
from layers.basemaps.sources import BasemapSource
from layers.basemaps.underlay import place
from layers.geo.crs import lonlat_to_metric
from tests.conftest import log_in

SOURCE = BasemapSource(key="img", name="影像", url="http://h/{z}/{x}/{y}.png",
                       labels_url="http://h/l/{z}/{x}/{y}.png")
AREA = TileArea((116.90, 36.60, 117.03, 36.72), 10, 18)


def test_tiles_cover_the_extract_and_sit_where_their_ground_is():
    lon, lat = 116.963, 36.667
    cx, cy = lonlat_to_metric(lon, lat)
    bounds = (cx - 400, cy - 200, cx + 400, cy + 200)  # 800 m x 400 m on 180 x 90 mm
    underlay = place(SOURCE, AREA, bounds, 180, 90)
    maps = [t for t in underlay.tiles if t.layer_id == "img"]
    assert len(underlay.tiles) == 2 * len(maps)  # the labels, tile for tile
    z = maps[0].z
    assert z == 18  # 4.4 m/mm at 200 dpi: 0.56 m a dot; zoom 17 has 0.96 m, 18 0.48 m
    assert min(t.x_mm for t in maps) <= 0 and min(t.y_mm for t in maps) <= 0
    assert max(t.x_mm + t.width_mm for t in maps) >= 180
    assert max(t.y_mm + t.height_mm for t in maps) >= 90
    # The point's pixel in the tile grid lands on the point's place on the extract.
    n = 1 << z
    px = (lon + 180) / 360 * n
    py = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    tile = next(t for t in maps if t.x == int(px) and t.y == int(py))
    x_mm = tile.x_mm + (px - tile.x) * tile.width_mm
    y_mm = tile.y_mm + (py - tile.y) * tile.height_mm
    assert x_mm == pytest.approx(90, abs=0.05) and y_mm == pytest.approx(45, abs=0.05)


def test_no_tiles_outside_the_allowed_area_or_zooms():
    x, y = lonlat_to_metric(116.963, 36.667)
    far = lonlat_to_metric(118.0, 37.5)
    assert place(SOURCE, AREA, (far[0] - 400, far[1] - 200, far[0] + 400, far[1] + 200),
                 180, 90) is None
    wide = place(SOURCE, TileArea(AREA.bbox, 10, 15), (x - 400, y - 200, x + 400, y + 200),
                 180, 90)
    assert {t.z for t in wide.tiles} == {15}  # the deepest allowed


@pytest.fixture
def leader(tiles_app):
    return log_in(tiles_app.test_client(), "brief-leader", "leader")


def parcel_id(client):
    return client.get("/api/parcels").get_json()["rows"][0]["id"]


def test_the_brief_shows_the_chosen_basemap_through_the_proxy(leader, tile_server):
    fid = parcel_id(leader)
    html = leader.get(f"/parcels/{fid}/brief?basemap=office").get_data(as_text=True)
    hrefs = re.findall(r'<image href="([^"]+)"', html)
    assert hrefs and {h.split("/")[2] for h in hrefs} == {"office", "office-labels"}
    assert 'data-basemap="office"' in html and "底图:办公室影像 测试影像" in html
    assert 'basemap=office' in re.search(r'id="pdf-link" href="([^"]+)"', html).group(1)
    assert '<option value="office" selected>办公室影像</option>' in html
    assert tile_server.total == 0  # the browser fetches them
    plain = leader.get(f"/parcels/{fid}/brief").get_data(as_text=True)
    assert "<image" not in plain and 'data-basemap="none"' in plain
    bad = leader.get(f"/parcels/{fid}/brief?basemap=osm")
    assert bad.status_code == 400 and "未知底图" in bad.get_data(as_text=True)
    assert leader.get(f"/parcels/{fid}/brief.pdf?basemap=x").status_code == 400


def test_the_pdf_is_drawn_on_the_tiles_and_says_when_it_cannot_be(leader, tile_server):
    fid = parcel_id(leader)
    pdf = PdfReader(io.BytesIO(leader.get(f"/parcels/{fid}/brief.pdf?basemap=office").data))
    count = tile_server.total
    assert count > 0 and len(pdf.pages[0].images) == count
    assert "底图:办公室影像" in pdf.pages[0].extract_text()
    tile_server.stop()
    cached = PdfReader(io.BytesIO(leader.get(f"/parcels/{fid}/brief.pdf?basemap=office").data))
    assert len(cached.pages[0].images) == count  # from the cache
    wider = leader.get(f"/parcels/{fid}/brief.pdf?basemap=office&distance=1000")
    failed = PdfReader(io.BytesIO(wider.data))
    assert wider.status_code == 200 and len(failed.pages[0].images) == 0
    assert "底图加载失败,已切换为无底图" in failed.pages[0].extract_text()
