"""The parcel and project tables: areas, filters, sorting, totals."""

import pytest
from pyproj import Geod
from shapely.geometry import shape

from layers.catalogue.entries import PARCEL_STATUSES, PROJECT_STATUSES
from layers.geo.crs import M2_PER_MU

CLIENT_ROLE = "leader"  # the `client` fixture logs in with this role (tests/conftest.py)
GEOD = Geod(ellps="WGS84")


def geodesic_area_m2(geometry):
    """Area on the WGS84 ellipsoid from the lon/lat rings: no EPSG:4548 involved."""
    return abs(GEOD.geometry_area_perimeter(shape(geometry))[0])


def table(client, kind, query=""):
    response = client.get(f"/api/{kind}{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("kind", ["parcels", "projects"])
def test_areas_match_the_ellipsoid_within_half_a_percent(client, kind):
    rows = {r["id"]: r for r in table(client, kind)["rows"]}
    features = client.get(f"/api/layers/{kind}").get_json()["features"]
    assert len(rows) == len(features) > 0
    for feature in features:
        expected = geodesic_area_m2(feature["geometry"])
        row = rows[feature["id"]]
        assert row["area_mu"] == pytest.approx(expected / M2_PER_MU, rel=0.005), row["name"]
        assert row["area_m2"] == pytest.approx(expected, rel=0.005), row["name"]


@pytest.mark.parametrize("kind", ["parcels", "projects"])
def test_area_totals_add_up_the_rows(client, kind):
    body = table(client, kind)
    # A part of another listed site (八里桥蔬菜市场 of the 片区) is counted once, in the whole.
    area_m2 = sum(r["area_m2"] for r in body["rows"] if not r.get("part_of"))
    assert area_m2 > 0
    assert body["totals"]["area_m2"] == pytest.approx(area_m2, abs=0.5)
    assert body["totals"]["area_mu"] == pytest.approx(area_m2 / M2_PER_MU, abs=0.01)


def test_balitiao_area_is_130_mu(client):
    rows = {r["name"]: r for r in table(client, "parcels")["rows"]}
    assert rows["八里桥片区"]["area_mu"] == pytest.approx(130, rel=0.02)
    assert rows["八里桥片区"]["area_m2"] == pytest.approx(130 * 2000 / 3, rel=0.02)


def test_parcel_table_columns_are_labelled_in_chinese(client):
    body = table(client, "parcels")
    labels = {c["field"]: c["label"] for c in body["columns"]}
    assert labels == {
        "name": "地块名称", "status": "状态", "owner": "权属单位", "area_m2": "面积(平方米)",
        "area_mu": "面积(亩)", "years_idle": "闲置年限(年,示意)", "planned_use": "规划用途",
        "last_update": "更新日期(示意)", "community": "所属社区", "note": "备注",
    }
    assert body["statuses"] == list(PARCEL_STATUSES)
    row = body["rows"][0]
    assert set(row) == {"id"} | set(labels)


def test_default_order_is_largest_first(client):
    body = table(client, "parcels")
    areas = [r["area_mu"] for r in body["rows"]]
    assert areas == sorted(areas, reverse=True)
    assert body["query"] == {"status": None, "sort": "area_mu", "order": "desc"}


@pytest.mark.parametrize(("sort", "order"), [("years_idle", "asc"), ("last_update", "desc"),
                                             ("area_m2", "asc"), ("name", "asc")])
def test_sorting(client, sort, order):
    rows = table(client, "parcels", f"?sort={sort}&order={order}")["rows"]
    values = [r[sort] for r in rows]
    assert values == sorted(values, reverse=order == "desc")


def test_statuses_sort_in_their_own_order(client):
    rows = table(client, "parcels", "?sort=status&order=asc")["rows"]
    ranks = [PARCEL_STATUSES.index(r["status"]) for r in rows]
    assert ranks == sorted(ranks) and rows[0]["status"] == "闲置"
    rows = table(client, "parcels", "?sort=status&order=desc")["rows"]
    assert rows[0]["status"] == "已利用"


def test_missing_values_sort_last_both_ways(client):
    for order in ("asc", "desc"):
        rows = table(client, "projects", f"?sort=investment_2022_wan&order={order}")["rows"]
        assert rows[0]["name"] == "三箭和平广场"
        assert all(r["investment_2022_wan"] is None for r in rows[1:])


def test_filter_by_status_and_idle_totals(client):
    everything = table(client, "parcels")
    idle = table(client, "parcels", "?status=闲置")
    assert {r["status"] for r in idle["rows"]} == {"闲置"}
    names = {r["name"] for r in idle["rows"]}
    assert {"八里桥蔬菜市场", "济南富裕床单厂", "鲁华物流仓库"} <= names
    idle_mu = sum(r["area_m2"] for r in idle["rows"]) / M2_PER_MU
    assert idle["totals"]["area_mu"] == pytest.approx(idle_mu, abs=0.01)
    assert everything["totals"]["idle_area_mu"] == pytest.approx(idle_mu, abs=0.01)
    assert everything["totals"]["idle_count"] == len(idle["rows"])
    by_status = everything["totals"]["by_status"]
    assert sum(s["count"] for s in by_status.values()) == everything["totals"]["count"] == 7
    assert everything["totals"]["area_m2"] == pytest.approx(
        sum(r["area_m2"] for r in everything["rows"] if not r.get("part_of")), abs=0.5)
    assert [r["name"] for r in everything["rows"] if r.get("part_of")] == ["八里桥蔬菜市场"]


def test_filter_by_two_statuses(client):
    rows = table(client, "parcels", "?status=闲置,规划中")["rows"]
    assert {r["status"] for r in rows} == {"闲置", "规划中"}
    assert "八里桥片区" in {r["name"] for r in rows}


def test_project_table_investment_against_plan(client):
    body = table(client, "projects")
    assert body["statuses"] == list(PROJECT_STATUSES)
    plaza = next(r for r in body["rows"] if r["name"] == "三箭和平广场")
    assert plaza["investment_2022_wan"] == 17446.6
    assert plaza["expected_completion"] == "2023" and plaza["status"] == "在建"
    # The document gives no planned total: no share of it is shown (none is invented).
    assert plaza["investment_plan_wan"] is None and plaza["investment_progress_pct"] is None
    assert plaza["last_update"] == "2022-12-31"
    totals = body["totals"]
    assert totals["investment_2022_wan"] == 17446.6
    assert totals["by_status"]["在建"]["count"] == 2  # 三箭和平广场, 长者食堂
    labels = {c["field"]: c["label"] for c in body["columns"]}
    assert labels["investment_to_date_wan"] == "累计完成投资(万元)"
    assert labels["investment_plan_wan"] == "计划总投资(万元)"
    assert "17446.6" in plaza["note"]  # the figure is the document's, quoted


@pytest.mark.parametrize(("query", "message"), [
    ("?status=荒地", "unknown status 荒地"),
    ("?status=闲置,运营中", "unknown status 运营中"),
    ("?sort=price", "cannot sort by 'price'"),
    ("?sort=name&order=up", "order must be asc or desc"),
])
def test_bad_table_queries_are_400_json(client, query, message):
    response = client.get(f"/api/parcels{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 400 and message in body["error"]


def test_unknown_table_is_404_json(client):
    response = client.get("/api/grid")
    assert response.status_code == 404 and response.get_json()["ok"] is False


@pytest.mark.parametrize("path", ["/parcels", "/projects", "/dashboard"])
def test_review_pages_are_small_local_and_chinese(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert len(html) < 30_000  # rows and figures are fetched, not inlined
    for prefix in ("http://", "https://", "//"):
        assert f'src="{prefix}' not in html and f'href="{prefix}' not in html
    for other in ("/parcels", "/projects", "/dashboard", "/"):
        assert f'href="{other}"' in html  # the navigation between the leaders' pages


def test_sites_page_does_not_inline_rows(client):
    html = client.get("/parcels").get_data(as_text=True)
    assert "/api/parcels" in html and "/api/layers/parcels" in html
    assert "济南富裕床单厂" not in html and "八里桥片区原产权单位" not in html


def test_a_status_filter_naming_no_status_is_no_filter(client):
    everything = table(client, "parcels")
    for query in ("?status=", "?status=,,", "?status=%20,"):
        body = table(client, "parcels", query)
        assert body["rows"] == everything["rows"] and body["query"]["status"] is None
    body = table(client, "parcels", "?status=闲置,闲置")
    assert body["query"]["status"] == ["闲置"] and len(body["rows"]) == 3


def test_a_project_past_its_expected_year_is_late(client):
    """三箭和平广场 was expected in 2023 and is still 在建: late since the end of 2023."""
    rows = {r["name"]: r for r in table(client, "projects")["rows"]}
    assert rows["三箭和平广场"]["delay"] == "逾期2年11个月"  # to TODAY, 2026-11-25
    assert rows["广友茶城"]["delay"] is None  # operating
    assert rows["长者食堂"]["delay"] is None  # no expected year given
    labels = {c["field"]: c["label"] for c in table(client, "projects")["columns"]}
    assert labels["delay"] == "逾期"


def test_delay_counts_from_the_end_of_the_expected_year():
    import datetime as dt

    from layers.review.sites import delay

    building = {"status": "在建", "expected_completion": "2023"}
    assert delay(building, dt.date(2023, 12, 31)) is None
    assert delay(building, dt.date(2024, 1, 5)) == "逾期1个月"
    assert delay(building, dt.date(2025, 1, 5)) == "逾期1年1个月"
    assert delay(building, dt.date(2025, 12, 5)) == "逾期2年"
    assert delay({**building, "status": "运营中"}, dt.date(2030, 1, 1)) is None
    assert delay(building, None) is None
