"""OGC API - Features Part 4 at /ogc/collections/{id}/items: admins create, replace,
update and delete one feature over plain HTTP, as QGIS sends it. Each edit is a new
version of the layer (its ETag); a stale If-Match is 409 naming both versions; an
invalid feature is 400 with the catalogue's reasons, in Chinese; others may not."""

import json
import threading

import pytest

from layers.catalogue.entries import PARCEL_STATUSES
from layers.ogc.features import CONFORMANCE
from tests.conftest import client_as
from tests.layerfiles import INSIDE, edits_app, head, shipped

GEOJSON = "application/geo+json"
ITEMS = "/ogc/collections/venues/items"


@pytest.fixture
def app(tmp_path, store_backend):
    return edits_app(tmp_path)


@pytest.fixture
def admin(app):
    return client_as(app, "admin")


def venue(name="街上新发现的小饭馆", lon=INSIDE[0], lat=INSIDE[1], **props):
    properties = {**shipped("venues")[0]["properties"], "name": name, **props}
    return {"type": "Feature", "properties": properties,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def send(client, method, url, body=None, **headers):
    data = None if body is None else json.dumps(body, ensure_ascii=False)
    return client.open(url, method=method, data=data, content_type=GEOJSON, headers=headers)


def test_the_conformance_page_lists_part_4(app):
    conforms = app.test_client().get("/ogc/conformance?f=json").get_json()["conformsTo"]
    assert conforms == list(CONFORMANCE)
    assert {"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
            "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update"} <= set(conforms)


def test_create_read_replace_update_delete(admin, app):
    created = send(admin, "POST", ITEMS, venue())
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.headers["ETag"] == '"v2"'
    location = created.headers["Location"]
    assert location.endswith(f"{ITEMS}/V0354")
    got = admin.get(location + "?f=json")
    assert got.status_code == 200 and got.headers["ETag"] == '"v2"'
    assert got.get_json()["properties"]["name"] == "街上新发现的小饭馆"
    assert admin.get("/api/layers").get_json()["layers"][-1]  # served at once
    assert len(admin.get("/api/layers/venues").get_json()["features"]) == 354

    replaced = send(admin, "PUT", f"{ITEMS}/V0354", venue("小饭馆(已更名)"), **{"If-Match": '"v2"'})
    assert replaced.status_code == 204 and replaced.headers["ETag"] == '"v3"'
    patched = send(admin, "PATCH", f"{ITEMS}/V0354",
                   {"type": "Feature", "properties": {"address": "纬十二路1号"},
                    "geometry": {"type": "Point", "coordinates": [116.9651, 36.6715]}},
                   **{"If-Match": '"v3"'})
    assert patched.status_code == 204, patched.get_data(as_text=True)
    after = admin.get(f"{ITEMS}/V0354?f=json").get_json()
    assert after["properties"]["name"] == "小饭馆(已更名)"
    assert after["properties"]["address"] == "纬十二路1号"
    assert after["geometry"]["coordinates"] == [116.9651, 36.6715]
    lon, lat = 116.9651, 36.6715
    near = admin.get(f"/api/nearby?layer=venues&lon={lon}&lat={lat}&radius_m=20").get_json()
    assert "V0354" in {f["id"] for f in near["features"]}

    deleted = send(admin, "DELETE", f"{ITEMS}/V0354", **{"If-Match": '"v4"'})
    assert deleted.status_code == 204 and deleted.headers["ETag"] == '"v5"'
    assert admin.get(f"{ITEMS}/V0354?f=json").status_code == 404
    history = app.extensions["layer_history"]
    assert [(v.version, v.action, v.added, v.removed, v.changed)
            for v in history.versions("venues")][:4] == [
        (5, "layer.edit", [], ["V0354"], []), (4, "layer.edit", [], [], ["V0354"]),
        (3, "layer.edit", [], [], ["V0354"]), (2, "layer.edit", ["V0354"], [], [])]
    rows = admin.get("/api/audit?action=layer.edit").get_json()["entries"]
    assert len(rows) == 4 and rows[0]["summary"]["operation"] == "delete"
    assert rows[0]["actor"] == "test-admin"


def test_a_stale_if_match_is_409_naming_both_versions(admin, app):
    assert send(admin, "PATCH", f"{ITEMS}/V0001", {"type": "Feature", "properties": {
        "address": "一号"}}, **{"If-Match": '"v1"'}).status_code == 204
    stale = send(admin, "PATCH", f"{ITEMS}/V0001", {"type": "Feature", "properties": {
        "address": "二号"}}, **{"If-Match": '"v1"'})
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert "已从版本 1 更新到版本 2" in error and "V0001" in error
    assert app.extensions["layer_history"].features("venues")[1][0]["properties"][
        "address"] == "一号"


def test_an_if_match_of_a_version_the_layer_never_had_says_so(admin, app):
    ahead = send(admin, "PATCH", f"{ITEMS}/V0001", {"type": "Feature", "properties": {
        "address": "三号"}}, **{"If-Match": '"v99"'})
    assert ahead.status_code == 409
    error = ahead.get_json()["error"]
    assert "没有版本 99" in error and "当前为版本 1" in error and "更新到" not in error
    assert app.extensions["layer_history"].features("venues")[0] == 1


def test_two_concurrent_edits_of_one_feature_one_wins(app):
    clients = [client_as(app, "admin") for _ in range(2)]
    answers = []
    start = threading.Barrier(2)

    def edit(client, address):
        start.wait()
        answers.append(send(client, "PATCH", f"{ITEMS}/V0002", {
            "type": "Feature", "properties": {"address": address}},
            **{"If-Match": '"v1"'}).status_code)

    threads = [threading.Thread(target=edit, args=(c, f"{n}号")) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(answers) == [204, 409]
    assert head(app, "venues") == 2


def test_concurrent_edits_of_different_features_from_one_version_all_land(app):
    """Conflicts are per feature: edits made on version 1 of other features than the
    ones changed since go onto the head, one version each, however they race."""
    ids = ["V0010", "V0011", "V0012", "V0013"]
    clients = [client_as(app, "admin") for _ in ids]
    answers = []
    start = threading.Barrier(len(ids))

    def edit(client, fid):
        start.wait()
        answers.append(send(client, "PATCH", f"{ITEMS}/{fid}", {
            "type": "Feature", "properties": {"address": f"{fid} 新址"}},
            **{"If-Match": '"v1"'}).status_code)

    threads = [threading.Thread(target=edit, args=pair) for pair in zip(clients, ids, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [204] * len(ids)
    history = app.extensions["layer_history"]
    assert head(app, "venues") == 1 + len(ids)
    assert sorted(fid for v in history.versions("venues", after=1) for fid in v.changed) == ids
    by_id = {f["id"]: f for f in history.features("venues")[1]}
    assert all(by_id[fid]["properties"]["address"] == f"{fid} 新址" for fid in ids)


@pytest.mark.parametrize(("body", "message"), [
    (venue(lon=117.3, lat=36.9), "位置"),
    (venue(name=None), "场所名称 [name]"),
    ({"type": "FeatureCollection"}, "请求体必须是一个 GeoJSON 要素"),
    ({"type": "Feature", "properties": [], "geometry": None}, "要素属性 properties 必须是对象"),
])
def test_an_invalid_feature_is_400_in_chinese(admin, app, body, message):
    if body.get("properties") and body["properties"].get("name", "") is None:
        del body["properties"]["name"]
    answer = send(admin, "POST", ITEMS, body)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert (message in error) or message == "位置" and "boundary" in error, error
    assert head(app, "venues") == 1


def test_edits_of_unknown_things_and_bad_if_match(admin, app):
    assert send(admin, "DELETE", f"{ITEMS}/NOPE").status_code == 404
    assert send(admin, "POST", "/ogc/collections/nosuch/items", venue()).status_code == 404
    bad = send(admin, "PATCH", f"{ITEMS}/V0001", {"type": "Feature", "properties": {}},
               **{"If-Match": '"abc"'})
    assert bad.status_code == 400 and "If-Match" in bad.get_json()["error"]
    taken = send(admin, "POST", ITEMS, {**venue(), "id": "V0001"})
    assert taken.status_code == 409 and "已有编号为 V0001" in taken.get_json()["error"]
    assert head(app, "venues") == 1


def test_the_if_match_and_id_the_document_allows(admin, app):
    """If-Match is one strong tag ("v1", or *) and a created id is a path segment, as the
    OpenAPI document says: a list, a weak tag or an id with / is refused."""
    for header in ('"v1", "v2"', 'W/"v1"', "v1"):
        bad = send(admin, "PATCH", f"{ITEMS}/V0001", {"type": "Feature"}, **{"If-Match": header})
        assert bad.status_code == 400 and "If-Match" in bad.get_json()["error"], header
    for fid in ("a/b", " ", "x?y", "V" * 201, True):
        bad = send(admin, "POST", ITEMS, {**venue(), "id": fid})
        assert bad.status_code == 400 and "要素编号 id" in bad.get_json()["error"], fid
    assert send(admin, "PATCH", f"{ITEMS}/V0001", {"type": "Feature", "properties": {
        "nosuch": None}}).status_code == 400  # an unknown property, even null
    assert head(app, "venues") == 1
    assert send(admin, "PATCH", f"{ITEMS}/V0001", {"type": "Feature", "properties": {
        "address": "新地址"}}, **{"If-Match": ' * '}).status_code == 204


def test_a_parcel_keeps_its_own_status(admin, app):
    """A parcel's stored status (状态) is its own field, not a venue's live status that
    an edit drops."""
    parcel = admin.get("/ogc/collections/parcels/items?f=json&limit=1").get_json()["features"][0]
    properties = {k: v for k, v in parcel["properties"].items() if v is not None}
    status = next(s for s in PARCEL_STATUSES if s != properties["status"])
    answer = send(admin, "PUT", f"/ogc/collections/parcels/items/{parcel['id']}", {
        "type": "Feature", "properties": {**properties, "status": status},
        "geometry": parcel["geometry"]})
    assert answer.status_code == 204, answer.get_data(as_text=True)
    again = admin.get(f"/ogc/collections/parcels/items/{parcel['id']}?f=json").get_json()
    assert again["properties"]["status"] == status


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("viewer", 403),
                                              ("inspector", 403), ("leader", 403)])
def test_only_admins_edit(app, role, status):
    client = client_as(app, role)
    answer = send(client, "POST", ITEMS, venue())
    assert answer.status_code in (status, 400)  # no session: the CSRF check may answer first
    assert send(client, "DELETE", f"{ITEMS}/V0001").status_code in (status, 400)
    assert head(app, "venues") == 1


def test_an_edit_needs_the_csrf_token(app):
    admin = client_as(app, "admin")
    del admin.environ_base["HTTP_X_CSRFTOKEN"]
    assert send(admin, "DELETE", f"{ITEMS}/V0001").status_code == 400
    assert head(app, "venues") == 1


def test_the_boundary_keeps_the_other_layers_inside(admin, app):
    """Deleting the boundary, or moving it off the sub-district, would leave every other
    layer outside: refused (409, in Chinese) as an import of such a boundary is."""
    before = head(app, "boundary")
    response = send(admin, "DELETE", "/ogc/collections/boundary/items/boundary")
    assert response.status_code == 409
    assert "街道辖区边界不能删除" in response.get_json()["error"]
    small = {"type": "Polygon", "coordinates": [[[116.955, 36.665], [116.956, 36.665],
                                                 [116.956, 36.666], [116.955, 36.665]]]}
    response = send(admin, "PATCH", "/ogc/collections/boundary/items/boundary",
                    {"type": "Feature", "geometry": small})
    assert response.status_code == 409
    assert "将位于辖区以外,修改未保存" in response.get_json()["error"]
    assert head(app, "boundary") == before
    assert admin.get("/api/coverage").status_code == 200
