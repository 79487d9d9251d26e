"""The OGC API refuses what its OpenAPI document rules out (a field's minimum)."""

from layers.catalogue.entries import CATALOGUE
from layers.ogc.openapi import ogc_section


def test_a_filter_below_the_fields_minimum_is_refused(client):
    response = client.get("/ogc/collections/garbage/items?bins=-7560")
    body = response.get_json()
    assert response.status_code == 400 and body["error"].startswith("bins 须为不小于 0 的整数")
    assert client.get("/ogc/collections/garbage/items?bins=0").status_code == 200
    response = client.get("/ogc/collections/projects/items?investment_plan_wan=-0.5")
    assert response.status_code == 400 and "不能小于 0" in response.get_json()["error"]
    section = ogc_section(CATALOGUE)
    params = section.paths["/ogc/collections/garbage/items"]["parameters"] \
        if "parameters" in section.paths["/ogc/collections/garbage/items"] \
        else section.paths["/ogc/collections/garbage/items"]["get"]["parameters"]
    bins = next(p for p in params if p["name"] == "bins")
    assert bins["schema"]["minimum"] == 0  # the document says what the server enforces


def test_a_filter_takes_the_documents_values_once(client):
    """Found by the negative schemathesis run: an enum or date property's filter took any
    text (200 with no features), and a parameter given twice was read once."""
    items = "/ogc/collections/parcels/items"
    for query, says in (("status=xyz", "状态"), ("status=null&status=null", "只能给一次"),
                        ("limit=5&limit=6", "只能给一次"),
                        ("community=nowhere", "社区")):
        response = client.get(f"{items}?{query}")
        assert response.status_code == 400 and says in response.get_json()["error"], query
    response = client.get("/ogc/collections/garbage/items?built=2022-02-30")
    assert response.status_code == 400 and "YYYY-MM-DD" in response.get_json()["error"]
    assert client.get("/ogc/collections/garbage/items?built=2022-03-10").status_code == 200
    status = CATALOGUE[[layer.name for layer in CATALOGUE].index("parcels")].field(
        "status").choices[0]
    found = client.get(f"{items}?status={status}&f=json").get_json()
    assert found["numberMatched"] > 0
    # Core: a limit above the maximum is served as the maximum, not refused
    many = client.get("/ogc/collections/venues/items?limit=100000&f=json")
    assert many.status_code == 200 and many.get_json()["numberReturned"] == 353


def test_overdue_refuses_a_crs_without_a_point(client):
    response = client.get("/api/overdue?crs=xyz")
    assert response.status_code == 400 and "crs" in response.get_json()["error"]
    assert client.get("/api/overdue?crs=gcj02").status_code == 200
