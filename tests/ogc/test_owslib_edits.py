"""OGC API - Features Part 4 from a real client: OWSLib's Features (as a script or
QGIS would send it: HTTP Basic credentials, no session, no CSRF token) creates,
replaces and deletes a venue on a live server; every edit is a version of the layer,
and wrong credentials or a non-admin are refused in Chinese, nothing changed."""

from __future__ import annotations

import json

import pytest
import requests
from owslib.ogcapi.features import Features
from owslib.util import Authentication

from tests.conftest import PASSWORD, ensure_user, make_app
from tests.liveserver import LiveServer


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("owslib") / "inspections.sqlite")
    ensure_user(app, "qgis-admin", "admin")
    ensure_user(app, "qgis-viewer", "viewer")
    with LiveServer(app) as live:
        yield app, live


def a_venue_beside(app):
    venue = app.test_client().get("/api/layers/venues").get_json()["features"][0]
    lon, lat = venue["geometry"]["coordinates"]
    return {"type": "Feature", "geometry": {"type": "Point",
                                            "coordinates": [lon + 0.0001, lat + 0.0001]},
            "properties": {"name": "OWSLib 新增场所", "category": "九小场所", "kind": "小商店",
                           "address": "经四路 1 号", "community": venue["properties"]["community"],
                           "quancheng_app": True, "pledge_signed": False}}


def test_owslib_creates_replaces_and_deletes_a_venue(served):
    app, live = served
    history = app.extensions["layer_history"]
    client = Features(live.url + "/ogc", auth=Authentication("qgis-admin", PASSWORD))
    assert "venues" in [c["id"] for c in client.collections()["collections"]]
    before = client.collection_items("venues", limit=1)["numberMatched"]
    start = history.versions("venues")[0].version
    feature = a_venue_beside(app)

    assert client.collection_item_create("venues", feature) is True
    created = client.response_headers["Location"].rsplit("/", 1)[1]
    assert client.collection_items("venues", limit=1)["numberMatched"] == before + 1
    item = client.collection_item("venues", created)
    assert item["properties"]["name"] == "OWSLib 新增场所"

    feature["properties"]["name"] = "OWSLib 改名场所"
    feature["id"] = created
    assert client.collection_item_update("venues", created, json.dumps(feature)) is True
    assert client.collection_item("venues", created)["properties"]["name"] == "OWSLib 改名场所"

    assert client.collection_item_delete("venues", created) is True
    assert client.collection_items("venues", limit=1)["numberMatched"] == before
    made = history.versions("venues")[:3]
    assert [v.version for v in made] == [start + 3, start + 2, start + 1]
    assert all(v.actor == "qgis-admin" and v.action == "layer.edit" for v in made)


@pytest.mark.parametrize(("user", "password", "status"), [
    ("qgis-admin", "wrong-password-9", 401),
    ("nobody-here", PASSWORD, 401),
    ("qgis-viewer", PASSWORD, 403),
])
def test_wrong_credentials_or_a_non_admin_change_nothing(served, user, password, status):
    app, live = served
    count = len(app.test_client().get("/api/layers/venues").get_json()["features"])
    response = requests.post(live.url + "/ogc/collections/venues/items", auth=(user, password),
                             json=a_venue_beside(app), headers={"Accept": "application/json"},
                             timeout=30)
    assert response.status_code == status
    assert response.json()["error"][:1] >= "\u4e00"  # Chinese first
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert len(app.test_client().get("/api/layers/venues").get_json()["features"]) == count


def test_no_credentials_is_a_challenge_and_basic_is_taken_for_edits_only(served):
    app, live = served
    refused = requests.delete(live.url + "/ogc/collections/venues/items/V0001", timeout=30)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="huaishu", charset="UTF-8"'
    # Basic credentials on a page are not a login: /admin stays closed.
    page = requests.get(live.url + "/admin/users", auth=("qgis-admin", PASSWORD), timeout=30)
    assert page.status_code == 401 and "WWW-Authenticate" not in page.headers
