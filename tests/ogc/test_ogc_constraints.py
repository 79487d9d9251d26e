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
