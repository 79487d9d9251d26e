"""The 12345 work orders of 2022 for the dashboard: by month, community and category."""

from layers.catalogue.entries import COMMUNITIES, HOTLINE_CATEGORIES

CLIENT_ROLE = "leader"  # the `client` fixture logs in with this role (tests/conftest.py)


def test_hotline_summary_holds_the_documents_count_and_rates(client):
    body = client.get("/api/hotline").get_json()
    assert body["total"] == 3176  # 承办12345市民服务热线工单3176
    assert body["rates"] == {"answered": 100.0, "closed": 100.0, "satisfied": 100.0}
    assert [m["month"] for m in body["by_month"]] == [f"{m}月" for m in range(1, 13)]
    assert sum(m["count"] for m in body["by_month"]) == 3176
    assert [c["community"] for c in body["by_community"]] == list(COMMUNITIES)
    assert sum(c["count"] for c in body["by_community"]) == 3176
    assert all(c["per_km2"] > 0 for c in body["by_community"])
    assert [c["category"] for c in body["by_category"]] == list(HOTLINE_CATEGORIES)
    assert body["illustrative"] is True


def test_hotline_summary_is_for_leaders(app):
    from tests.conftest import client_as

    assert client_as(app, "viewer").get("/api/hotline").status_code == 403
