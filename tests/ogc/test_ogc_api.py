"""OGC API - Features at /ogc: the resources, paging, filters, CRSs and errors."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from pyproj import Transformer
from shapely.geometry import shape

from layers.catalogue.entries import CATALOGUE
from layers.ogc.features import CONFORMANCE, CRS84, epsg_uri
from tests.layerfiles import shipped

GEOJSON = "application/geo+json"


def links(body, rel):
    return [link for link in body["links"] if link["rel"] == rel]


def follow(client, href):
    parts = urlsplit(href)
    return client.get(f"{parts.path}?{parts.query}")


def test_landing_page_links_the_api_conformance_and_data(client):
    response = client.get("/ogc/")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    rels = {link["rel"]: link for link in body["links"]}
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    for rel in ("service-desc", "conformance", "data"):
        assert follow(client, rels[rel]["href"]).status_code == 200


def test_conformance(client):
    body = client.get("/ogc/conformance").get_json()
    assert body["conformsTo"] == list(CONFORMANCE)
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in body["conformsTo"]


def test_collections_are_the_catalogue(client, store):
    body = client.get("/ogc/collections").get_json()
    assert [c["id"] for c in body["collections"]] == [layer.name for layer in CATALOGUE]
    venues = next(c for c in body["collections"] if c["id"] == "venues")
    assert venues["title"] == "安全监管场所" and venues["itemType"] == "feature"
    assert venues["extent"]["spatial"]["bbox"] == [store.get("venues").bbox]
    assert venues["crs"] == [CRS84, epsg_uri(4326), epsg_uri(4490), epsg_uri(4548)]
    assert {link["type"] for link in links(venues, "items")} == {GEOJSON, "text/html"}


def test_items_page_through_the_whole_layer(client):
    expected = [f["id"] for f in shipped("venues")]
    seen, url, pages = [], "/ogc/collections/venues/items?limit=100", 0
    while url:
        response = client.get(url)
        assert response.mimetype == GEOJSON
        assert response.headers["Content-Crs"] == f"<{CRS84}>"
        body = response.get_json()
        assert body["numberMatched"] == len(expected)
        assert body["numberReturned"] == len(body["features"])
        seen += [f["id"] for f in body["features"]]
        pages += 1
        prev = links(body, "prev")
        assert bool(prev) == (pages > 1)
        nxt = links(body, "next")
        url = f"{urlsplit(nxt[0]['href']).path}?{urlsplit(nxt[0]['href']).query}" if nxt else None
    assert seen == expected and pages == 4


def test_default_limit_and_the_maximum(client):
    assert client.get("/ogc/collections/venues/items").get_json()["numberReturned"] == 10
    body = client.get("/ogc/collections/venues/items?limit=99999").get_json()
    assert body["numberReturned"] == 353  # served as the maximum, not refused


def test_a_feature_is_the_files_feature_with_measures(client):
    file_feature = shipped("parcels")[0]
    body = client.get(f"/ogc/collections/parcels/items/{file_feature['id']}").get_json()
    assert body["id"] == file_feature["id"]
    assert body["geometry"] == file_feature["geometry"]
    assert body["properties"].items() >= file_feature["properties"].items()
    assert body["properties"]["area_mu"] > 0
    assert {link["rel"] for link in body["links"]} == {"self", "alternate", "collection"}


def test_venues_carry_their_live_status(client):
    body = client.get("/ogc/collections/venues/items?status=逾期未检&limit=1000").get_json()
    assert body["numberMatched"] == len(body["features"]) > 0
    assert {f["properties"]["status"] for f in body["features"]} == {"逾期未检"}


def test_a_page_of_venues_carries_the_same_statuses_as_the_layer_api(client):
    """Unfiltered pages work out only their own venues' statuses: the same ones."""
    api = {f["id"]: f["properties"]["status"]
           for f in client.get("/api/layers/venues").get_json()["features"]}
    page = client.get("/ogc/collections/venues/items?offset=40&limit=30").get_json()
    assert len(page["features"]) == 30
    assert {f["id"]: f["properties"]["status"] for f in page["features"]} == {
        f["id"]: api[f["id"]] for f in page["features"]}
    assert len({f["properties"]["status"] for f in page["features"]}) > 1


def test_bbox_uses_the_index_and_matches_the_api(client, store):
    minx, miny, maxx, maxy = store.get("boundary").bbox
    midx = (minx + maxx) / 2
    bbox = f"{minx},{miny},{midx},{maxy}"
    ogc = client.get(f"/ogc/collections/venues/items?bbox={bbox}&limit=1000").get_json()
    api = client.get(f"/api/layers/venues?bbox={bbox}").get_json()
    assert [f["id"] for f in ogc["features"]] == [f["id"] for f in api["features"]]
    assert 0 < ogc["numberMatched"] < 353


def test_bbox_in_gauss_kruger_metres(client, store):
    minx, miny, maxx, maxy = store.get("boundary").bbox
    to_metric = Transformer.from_crs("OGC:CRS84", "EPSG:4548")  # gives northing, easting
    n1, e1 = to_metric.transform(minx, miny)
    n2, e2 = to_metric.transform((minx + maxx) / 2, maxy)
    in_metres = client.get(f"/ogc/collections/venues/items?bbox={n1},{e1},{n2},{e2}"
                           f"&bbox-crs={epsg_uri(4548)}&limit=1000").get_json()
    in_degrees = client.get(f"/ogc/collections/venues/items?bbox={minx},{miny},"
                            f"{(minx + maxx) / 2},{maxy}&limit=1000").get_json()
    ids = {f["id"] for f in in_metres["features"]}
    expected = {f["id"] for f in in_degrees["features"]}
    assert len(ids ^ expected) <= 2  # the metric box is not exactly the degree box


def test_bbox_across_the_antimeridian_is_two_boxes(client):
    body = client.get("/ogc/collections/venues/items?bbox=170,30,118,40&limit=1000").get_json()
    assert body["numberMatched"] == 353
    body = client.get("/ogc/collections/venues/items?bbox=170,30,116,40").get_json()
    assert body["numberMatched"] == 0


@pytest.mark.parametrize(("crs", "order"), [
    ("EPSG:4326", "latlon"), (epsg_uri(4490), "latlon"), ("[EPSG:4548]", "northeast"),
])
def test_crs_gives_coordinates_in_the_authority_axis_order(client, crs, order):
    lon, lat = shipped("venues")[0]["geometry"]["coordinates"]
    response = client.get(f"/ogc/collections/venues/items/V0001?crs={crs}")
    assert response.status_code == 200
    assert response.headers["Content-Crs"].startswith("<http://www.opengis.net/def/crs/EPSG/0/")
    a, b = response.get_json()["geometry"]["coordinates"]
    if order == "latlon":
        assert (a, b) == pytest.approx((lat, lon), abs=1e-7)
    else:
        north, east = Transformer.from_crs("OGC:CRS84", "EPSG:4548").transform(lon, lat)
        assert (a, b) == pytest.approx((north, east), abs=0.001)


def test_polygons_in_gauss_kruger_keep_their_area(client):
    body = client.get(f"/ogc/collections/parcels/items?crs={epsg_uri(4548)}&limit=100").get_json()
    for feature in body["features"]:
        area = shape(feature["geometry"]).area
        assert area == pytest.approx(feature["properties"]["area_m2"], rel=1e-5)


@pytest.mark.parametrize(("query", "matched"), [
    ("community=裕园社区", lambda p: p["community"] == "裕园社区"),
    ("kinds=有害垃圾", lambda p: "有害垃圾" in p["kinds"]),
    ("bins=12", lambda p: p["bins"] == 12),
    ("community=裕园社区&bins=12", lambda p: p["community"] == "裕园社区" and p["bins"] == 12),
    ("name=nothing-is-called-this", lambda p: False),
])
def test_property_filters(client, query, matched):
    body = client.get(f"/ogc/collections/garbage/items?{query}&limit=1000").get_json()
    expected = [f["id"] for f in shipped("garbage") if matched(f["properties"])]
    assert [f["id"] for f in body["features"]] == expected
    assert body["numberMatched"] == len(expected)


@pytest.mark.parametrize(("layer", "value", "start", "end"), [
    ("garbage", "2022-03-11", "2022-03-11", "2022-03-11"),
    ("garbage", "2022-03-11T23:30:00Z", "2022-03-11", "2022-03-11"),
    ("garbage", "2022-01-01/2022-06-30", "2022-01-01", "2022-06-30"),
    ("garbage", "../2022-04-30", "0000", "2022-04-30"),
    ("parcels", "2022-09-01/..", "2022-09-01", "9999"),
])
def test_datetime_selects_by_the_layers_date(client, layer, value, start, end):
    body = client.get(f"/ogc/collections/{layer}/items?datetime={value}&limit=1000").get_json()
    field = {"garbage": "built", "parcels": "last_update"}[layer]
    expected = [f["id"] for f in shipped(layer) if start <= f["properties"][field] <= end]
    assert [f["id"] for f in body["features"]] == expected
    assert 0 < len(expected) < len(shipped(layer))


def test_datetime_and_layers_without_dates(client):
    body = client.get("/ogc/collections/venues/items?datetime=2022-03-11").get_json()
    assert body["numberMatched"] == 0  # no venue has a place in time
    collection = client.get("/ogc/collections/garbage").get_json()
    built = sorted(f["properties"]["built"] for f in shipped("garbage"))
    assert collection["extent"]["temporal"]["interval"] == [
        [f"{built[0]}T00:00:00+08:00", f"{built[-1]}T23:59:59+08:00"]]  # RFC 3339 date-times
    assert "temporal" not in client.get("/ogc/collections/venues").get_json()["extent"]


def test_boolean_filter(client):
    body = client.get("/ogc/collections/venues/items?pledge_signed=true&limit=1000").get_json()
    expected = [f["id"] for f in shipped("venues") if f["properties"]["pledge_signed"]]
    assert [f["id"] for f in body["features"]] == expected


def test_a_filter_called_like_a_path_value_keeps_the_links_right(client):
    name = next(f["properties"]["name"] for f in shipped("venues")
                if f["properties"]["kind"] == "小生产加工企业")
    body = client.get(f"/ogc/collections/venues/items?name={name}").get_json()
    (self_link,) = links(body, "self")
    parts = urlsplit(self_link["href"])
    assert parts.path == "/ogc/collections/venues/items"
    assert parse_qs(parts.query) == {"name": [name], "f": ["json"]}
    assert body["numberMatched"] == 1


@pytest.mark.parametrize(("url", "status", "message"), [
    ("/ogc/collections/nope", 404, "no layer named 'nope'"),
    ("/ogc/collections/nope/items", 404, "no layer named 'nope'"),
    ("/ogc/collections/venues/items/V9999", 404, "has no feature 'V9999'"),
    ("/ogc/collections/venues/items?colour=red", 400, "unknown query parameter(s) colour"),
    ("/ogc/collections?limit=3", 400, "unknown query parameter(s) limit"),
    ("/ogc/collections/venues/items?limit=0", 400, "limit must be at least 1"),
    ("/ogc/collections/venues/items?limit=ten", 400, "limit must be an integer"),
    ("/ogc/collections/venues/items?offset=-1", 400, "offset must be at least 0"),
    ("/ogc/collections/venues/items?bbox=1,2,3", 400, "bbox must be 4 numbers"),
    ("/ogc/collections/venues/items?bbox=1,2,3,x", 400, "not a number"),
    ("/ogc/collections/venues/items?bbox=1,5,3,2", 400, "must not exceed"),
    ("/ogc/collections/venues/items?bbox=1,2,3,nan", 400, "finite"),
    ("/ogc/collections/venues/items?crs=EPSG:3857", 400, "crs 'EPSG:3857' is not supported"),
    ("/ogc/collections/venues/items?bbox-crs=EPSG:4326", 400, "bbox-crs is given without bbox"),
    ("/ogc/collections/venues/items?bbox=1e9,1e9,2e9,2e9&bbox-crs=EPSG:4548", 400, "bbox"),
    ("/ogc/collections/garbage/items?bins=many", 400, "bins must be an integer"),
    ("/ogc/collections/venues/items?pledge_signed=yes", 400, "must be true or false"),
    ("/ogc/collections/venues/items?f=xml", 400, "f must be one of json, html"),
    ("/ogc/collections/garbage/items?datetime=2022-13-01", 400, "not an RFC 3339 date"),
    ("/ogc/collections/garbage/items?datetime=2022-03-11T08:00:00", 400, "RFC 3339"),
    ("/ogc/collections/garbage/items?datetime=2023-01-01/2022-01-01", 400, "ends before"),
    ("/ogc/collections/garbage/items?datetime=..", 400, "open end"),
    ("/ogc/nowhere", 404, "not found"),
])
def test_errors_are_json(client, url, status, message):
    response = client.get(url)
    assert response.status_code == status
    body = response.get_json()
    assert body["ok"] is False and body["status"] == status
    assert message.lower() in body["error"].lower()


@pytest.mark.parametrize("url", [
    "/ogc/", "/ogc/conformance", "/ogc/collections", "/ogc/collections/grid",
    "/ogc/collections/grid/items", "/ogc/collections/grid/items/G01", "/ogc/api",
])
def test_browsers_get_html_in_chinese(client, url):
    if url.endswith("G01"):
        url = url.replace("G01", shipped("grid")[0]["id"])
    response = client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert not re.search(r"""(src|href)=["']https?://(?!localhost)""", html)  # nothing external
    json_link = re.search(r'href="([^"]+f=json[^"]*)"', html)
    assert json_link and client.get(json_link.group(1).replace("&amp;", "&")).status_code == 200


def test_html_items_page_lists_the_page(client):
    html = client.get("/ogc/collections/parking/items?f=html&limit=3").get_data(as_text=True)
    assert "共 <strong>8</strong> 个要素符合条件" in html and "第 1–3 个" in html
    assert "泊位(个,示意)" in html and 'rel="next"' in html and 'rel="prev"' not in html
    for feature in shipped("parking")[:3]:
        assert f">{feature['id']}</a>" in html


def test_html_tables_label_every_column_in_chinese(client):
    def headers(url):
        html = client.get(url).get_data(as_text=True)
        return re.findall(r"<th>([^<]*)</th>", html)

    venues = headers("/ogc/collections/venues/items?f=html&limit=2")
    assert venues[-8:] == ["检查状态", "最近检查", "下次应检", "未改隐患", "30天内到期应检",
                           "超期未检", "超期未整改隐患", "超期天数"]
    parcels = headers("/ogc/collections/parcels/items?f=html&limit=2")
    assert "状态" in parcels and "检查状态" not in parcels  # a parcel's own status
    assert not [h for h in venues + parcels if re.fullmatch(r"[a-z_0-9]+", h)]


def test_html_escapes_data(client, tmp_path):
    import json

    from tests.conftest import make_app
    from tests.layerfiles import copy_geodata

    data_dir = copy_geodata(tmp_path / "geodata")
    collection = json.loads((data_dir / "parking.geojson").read_text(encoding="utf-8"))
    collection["features"][0]["properties"]["note"] = "<script>alert(1)</script>"
    (data_dir / "parking.geojson").write_text(json.dumps(collection, ensure_ascii=False),
                                              encoding="utf-8")
    app = make_app(tmp_path / "i.sqlite", DATA_DIR=data_dir)
    html = app.test_client().get("/ogc/collections/parking/items?f=html").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_status_filter_in_a_bbox_looks_up_only_the_bboxs_venues(client, store,
                                                                  monkeypatch):
    """The live statuses are worked out for the venues the other filters leave, not the
    layer's (a request's cost follows what it returns)."""
    from layers.records.book import InspectionRecords

    bbox = "116.955,36.655,116.965,36.665"
    everything = client.get(f"/ogc/collections/venues/items?bbox={bbox}&limit=1000").get_json()
    in_bbox = {f["id"] for f in everything["features"]}
    expected = {f["id"] for f in everything["features"]
                if f["properties"]["status"] == "逾期未检"}
    asked: list[str] = []
    real = InspectionRecords.statuses

    def counting(self, venues, today):
        venues = list(venues)
        asked.extend(vid for vid, *_ in venues)
        return real(self, venues, today)

    monkeypatch.setattr(InspectionRecords, "statuses", counting)
    body = client.get(f"/ogc/collections/venues/items?bbox={bbox}&status=逾期未检"
                      "&limit=1000").get_json()
    assert {f["id"] for f in body["features"]} == expected and expected
    assert body["numberMatched"] == len(expected)
    assert asked and set(asked) <= in_bbox
    assert len(in_bbox) < len(store.get("venues")) / 2  # a part of the layer


@pytest.mark.parametrize("status", ["逾期未检", "合格", "隐患未改", "超期未整改"])
def test_a_status_filter_over_many_venues_walks_them_a_chunk_at_a_time(client, monkeypatch,
                                                                      status):
    """Over more than LIVE_WALK_FROM venues, a status filter looks up the statuses of the
    venues in layer order, a chunk at a time, until its page (and one more) is found: the
    same pages as working out every venue's status, without numberMatched when it
    stopped early; a rare status falls back to the rest at once (numberMatched exact);
    the hazard statuses look only at the venues with an open hazard."""
    from layers.ogc import routes
    from layers.records.book import InspectionRecords

    url = f"/ogc/collections/venues/items?status={status}"
    every = client.get(f"{url}&limit=1000").get_json()
    expected = [f["id"] for f in every["features"]]
    assert expected and every["numberMatched"] == len(expected)
    asked: list[int] = []
    real = InspectionRecords.statuses

    def counting(self, venues, today):
        venues = list(venues)
        asked.append(len(venues))
        return real(self, venues, today)

    # The shipped 353 venues as a large layer: chunks of 20, at most 5 before the rest.
    monkeypatch.setattr(routes, "LIVE_WALK_FROM", 0)
    monkeypatch.setattr(routes, "WALK_CHUNK", 20)
    monkeypatch.setattr(routes, "WALK_CHUNKS", 5)
    with_hazards = client.application.extensions["inspections"].open_hazard_counts()
    monkeypatch.setattr(InspectionRecords, "statuses", counting)
    for offset, limit in ((0, 5), (3, 7), (len(expected) - 2, 5), (len(expected) + 1, 5)):
        asked.clear()
        body = client.get(f"{url}&offset={offset}&limit={limit}").get_json()
        assert [f["id"] for f in body["features"]] == expected[offset:offset + limit]
        assert {f["properties"]["status"] for f in body["features"]} <= {status}
        has_next = bool(links(body, "next"))
        assert has_next == (offset + limit < len(expected))
        if "numberMatched" in body:
            assert body["numberMatched"] == len(expected)
        else:  # stopped early: only the chunks it needed, and there is a next page
            assert has_next and all(n == 20 for n in asked) and len(asked) <= 5
        if sum(asked) < 353 and status in ("合格", "逾期未检"):
            assert "numberMatched" not in body
        if status == "合格" and offset == 0:  # 303 of 353: the first chunk holds the page
            assert asked == [20] and "numberMatched" not in body
        if status == "逾期未检" and offset == 3:  # 30 of 353: five chunks, then the rest
            assert len(asked) == 6 and sum(asked) == 353 and body["numberMatched"] == 30
        if status in ("隐患未改", "超期未整改"):  # only venues with an open hazard
            assert sum(asked) == len(with_hazards) < 353
    html = client.get(f"{url}&limit=2&f=html").get_data(as_text=True)
    assert "本页" in html
