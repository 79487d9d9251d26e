"""The one-page brief: facts, surroundings, a map true to scale; HTML print view and PDF."""

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from layers.catalogue.values import format_value
from layers.review.brief import map_extract, nice_scale_length
from tests.conftest import client_as, make_app

CLIENT_ROLE = "leader"  # the `client` fixture logs in with this role (tests/conftest.py)
GEODATA = Path(__file__).resolve().parents[2] / "geodata"
HOSTILE = "<script>alert(1)</script>${x}`&=1+1"


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory):
    """The app over a copy of the data where a parcel's name and owner are hostile text."""
    data = tmp_path_factory.mktemp("hostile-data")
    for path in GEODATA.iterdir():
        if path.is_file():
            shutil.copy(path, data / path.name)
    parcels = json.loads((data / "parcels.geojson").read_text(encoding="utf-8"))
    for feature in parcels["features"]:
        if feature["id"] == "P01":
            feature["properties"]["name"] = HOSTILE
            feature["properties"]["owner"] = "=HYPERLINK(\"http://evil\")"
        if feature["id"] == "P02":
            feature["properties"]["name"] = "市场\r\n/../x"
    (data / "parcels.geojson").write_text(json.dumps(parcels, ensure_ascii=False),
                                          encoding="utf-8")
    app = make_app(tmp_path_factory.mktemp("hostile-db") / "db.sqlite", DATA_DIR=data)
    return client_as(app, "leader")


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "".join(page.extract_text() for page in reader.pages)


def test_print_view_holds_facts_surroundings_and_map(client):
    response = client.get("/parcels/P01/brief")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "地块简报\uff1a八里桥片区" in html
    for text in ("权属单位", "八里桥片区原产权单位(多家)", "130 亩", "规划中", "2022-12-20"):
        assert text in html
    around = client.get("/api/parcels/P01/surroundings").get_json()
    households = format_value(around["households_estimate"])
    assert f'id="brief-households">{households}<' in html
    for c in around["communities"]:  # the shares as the page's panel shows them
        assert f'{c["name"]}</td><td class="br-num">{format_value(c["households"])}</td>' \
               f'<td class="br-num">{c["share_pct"]:.1f}%</td>' in html
    assert around["nearest_main_road"]["name"] in html
    # the document gives no parking spaces or years idle: the brief says they are 示意
    assert f"泊位 {around['parking']['spaces']} 个(示意)" in html
    assert "闲置年限(示意)" in html
    assert f"垃圾桶 {around['garbage']['bins']} 个(示意)" in html  # bins per point: 示意
    assert '<th class="br-num">户数(示意)</th>' in html  # households per community: 示意
    assert '<svg id="brief-map"' in html and 'id="br-scale"' in html
    assert "受影响户数为估算" in html
    for prefix in ("http://", "https://"):
        assert f'src="{prefix}' not in html and f'href="{prefix}' not in html


def test_print_view_scale_bar_is_true(client):
    html = client.get("/projects/J01/brief?distance=500").get_data(as_text=True)
    per_mm = float(re.search(r'data-metres-per-mm="([\d.]+)"', html).group(1))
    length_m, length_mm = re.search(
        r'data-length-m="(\d+)" data-length-mm="([\d.]+)"', html).groups()
    assert float(length_mm) * per_mm == pytest.approx(int(length_m), rel=0.001)
    assert "周边范围 500 米" in html


def test_map_extract_is_drawn_to_scale(app):
    surroundings = app.extensions["surroundings"]
    extract = map_extract(surroundings, "parcels", "P01", 300)
    loaded = app.extensions["layer_store"].get("parcels")
    site = loaded.metric[loaded.position("P01")]
    (mark,) = [m for m in extract.marks if m.layer == "site"]
    xs = [x for part in mark.parts for x, _ in part]
    ys = [y for part in mark.parts for _, y in part]
    minx, miny, maxx, maxy = site.bounds
    assert (max(xs) - min(xs)) * extract.metres_per_mm == pytest.approx(maxx - minx, abs=0.5)
    assert (max(ys) - min(ys)) * extract.metres_per_mm == pytest.approx(maxy - miny, abs=0.5)
    (reach,) = [m for m in extract.marks if m.layer == "reach"]
    width_mm = max(x for part in reach.parts for x, _ in part) - min(
        x for part in reach.parts for x, _ in part)
    assert width_mm * extract.metres_per_mm == pytest.approx(maxx - minx + 600, abs=1)
    # Everything drawn stays inside the frame.
    points = [p for m in extract.marks for part in m.parts for p in part]
    assert all(-0.01 <= x <= extract.width_mm + 0.01 for x, _ in points)
    assert all(-0.01 <= y <= extract.height_mm + 0.01 for _, y in points)
    assert extract.scale_bar.length_m == nice_scale_length(extract.width_mm * extract.metres_per_mm)
    assert {e.label for e in extract.legend} >= {"本地块", "300米范围", "停车场", "安全监管场所"}
    labels = {label.text for label in extract.labels}
    assert "八里桥片区" in labels and "张庄路" in labels


@pytest.mark.parametrize(("kind", "fid"), [("parcels", f"P0{i}") for i in range(1, 8)]
                         + [("projects", "J01"), ("projects", "J02")])
def test_pdf_is_one_page_with_the_brief(client, kind, fid):
    response = client.get(f"/{kind}/{fid}/brief.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    pages, text = pdf_text(response.data)
    assert pages == 1
    around = client.get(f"/api/{kind}/{fid}/surroundings").get_json()
    assert around["site"]["name"] in text
    assert "周边 300 米范围内" in text
    assert format_value(around["households_estimate"], "户").replace(" ", "") in text.replace(
        " ", "")
    road = around["nearest_main_road"]
    assert f"{road['name']},距离 {road['distance_m']:.0f} 米" in text


def test_pdf_follows_the_distance(client):
    pages, text = pdf_text(client.get("/parcels/P04/brief.pdf?distance=120").data)
    assert "周边范围 120 米" in text and "周边 120 米范围内" in text


@pytest.mark.parametrize("fid", ["P01", "P04", "P06"])
def test_pdf_stays_one_page_at_the_largest_distance(client, fid):
    around = client.get(f"/api/parcels/{fid}/surroundings?distance=1000").get_json()
    pages, text = pdf_text(client.get(f"/parcels/{fid}/brief.pdf?distance=1000").data)
    assert pages == 1
    if len(around["sites"]) > 6:
        assert f"等 {len(around['sites'])} 处" in text


@pytest.mark.parametrize("url", ["/parcels/P01/brief?distance=0",
                                 "/parcels/P01/brief.pdf?distance=x",
                                 "/parcels/P99/brief", "/projects/nope/brief.pdf"])
def test_bad_brief_requests_are_4xx(client, url):
    response = client.get(url)  # pages: the error page in Chinese
    assert response.status_code in (400, 404)
    assert "hs-error-page" in response.get_data(as_text=True)
    response = client.get(url, headers={"Accept": "application/json"})
    assert response.status_code in (400, 404) and response.get_json()["ok"] is False


def test_hostile_text_is_shown_not_run(hostile_client):
    html = hostile_client.get("/parcels/P01/brief").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;${x}`&amp;=1+1" in html
    pages, text = pdf_text(hostile_client.get("/parcels/P01/brief.pdf").data)
    assert pages == 1 and HOSTILE in text
    csv_text = hostile_client.get("/api/parcels/export.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text
    response = hostile_client.get("/parcels/P02/brief.pdf")
    assert response.status_code == 200
    assert "\n" not in response.headers["Content-Disposition"]
    assert "/" not in response.headers["Content-Disposition"].split("filename")[-1]
    table_html = hostile_client.get("/parcels").get_data(as_text=True)
    assert HOSTILE not in table_html  # the page fetches rows; it does not inline them


@pytest.mark.parametrize(("value", "unit", "text"), [
    (130.0, "亩", "130 亩"), (12.5, "亩", "12.5 亩"), (0.94, "亩", "0.94 亩"),
    (17446.6, "万元", "17,446.6 万元"), (84.4, "%", "84.4%"), (5.001, "年", "5 年"),
    (1234.999, "", "1,235"), (7662, "户", "7,662 户"), (True, "", "是"), (None, "亩", ""),
])
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


@pytest.mark.parametrize(("kind", "fid"), [("parcels", "P01"), ("projects", "J01"),
                                           ("projects", "J12"), ("parcels", "P05")])
def test_map_extract_labels_never_overlap_and_stay_inside(app, kind, fid):
    from layers.review.brief import label_box

    extract = map_extract(app.extensions["surroundings"], kind, fid, 300)
    boxes = [label_box(label) for label in extract.labels]
    assert len(boxes) >= 3
    for i, a in enumerate(boxes):
        assert a[0] >= 0 and a[2] <= extract.width_mm and a[1] >= 0 and a[3] <= extract.height_mm
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    # The site is named first, roads along their lines, and nearby sites by name.
    assert extract.labels[0].bold and extract.labels[0].color == "#c0392b"
    assert any(label.angle for label in extract.labels) or any(
        label.text.endswith(("路", "街")) for label in extract.labels)


def test_scale_bar_and_north_arrow_lie_under_the_map(client):
    """They sit in a strip below the map's frame, where they cover no feature or label."""
    html = client.get("/parcels/P01/brief").get_data(as_text=True)
    height = float(re.search(r'viewBox="0 0 [\d.]+ ([\d.]+)"', html).group(1))
    frame = float(re.search(r'<clipPath id="br-frame"><rect x="0" y="0" width="[\d.]+" '
                            r'height="([\d.]+)"', html).group(1))
    assert height > frame + 8
    scale_y = float(re.search(r'id="br-scale" class="br-scale" transform="translate\(5 ([\d.]+)\)',
                              html).group(1))
    north_y = float(re.search(r'id="br-north" class="br-north" transform="translate\([\d.]+ '
                              r'([\d.]+)\)', html).group(1))
    assert scale_y - 6.5 >= frame and north_y >= frame


def test_brief_says_how_late_a_project_is(client):
    html = client.get("/projects/J01/brief").get_data(as_text=True)
    assert "逾期2年11个月" in html
