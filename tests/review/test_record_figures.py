"""The leaders' dashboard's live figures from the records (/api/records/figures), both stores."""

import pytest

from tests.conftest import TODAY, client_as, log_in, make_app

PASSWORD = "correct-horse-1"


@pytest.fixture
def app(tmp_path, store_backend):
    """A fresh app per test: these tests write."""
    app = make_app(tmp_path / "inspections.sqlite")
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    return app


def figures(app):
    response = client_as(app, "leader").get("/api/records/figures")
    assert response.status_code == 200
    return response.get_json()


def test_the_figures_count_the_records_by_community(app):
    body = figures(app)
    assert body["date"] == TODAY
    venues = app.test_client().get("/api/layers/venues").get_json()["features"]
    props = [f["properties"] for f in venues]
    assert body["open_hazards"] == sum(p["open_hazards"] for p in props) == 20
    assert body["inspection_overdue"] == sum(p["overdue"] for p in props) == 30
    late = sum(p["overdue_hazards"] > 0 for p in props)
    assert body["rectification_overdue"] == late > 0
    assert body["labels"] == {"rectification_overdue": "超期未整改",
                              "inspection_overdue": "逾期未检"}
    rows = {r["community"]: r for r in body["by_community"]}
    for community in {p["community"] for p in props}:
        mine = [p for p in props if p["community"] == community]
        assert rows[community]["venues"] == len(mine)
        assert rows[community]["rectification_overdue"] == sum(p["overdue_hazards"] > 0
                                                                for p in mine)
        assert rows[community]["inspection_overdue"] == sum(p["overdue"] for p in mine)
    assert sum(r["venues"] for r in body["by_community"]) == len(venues)
    assert body["lists"] == {"rectification_overdue": "/inspect?list=late",
                             "inspection_overdue": "/inspect?list=overdue"}
    # This year's and this month's inspections, from the records' dates.
    assert body["inspections_this_year"] >= body["inspections_this_month"] >= 0


def test_an_inspection_recorded_today_counts_this_month_and_this_year(app):
    before = figures(app)
    inspector = log_in(app.test_client(), "zhangwei", password=PASSWORD)
    venue_id = next(f["id"] for f in inspector.get("/api/layers/venues").get_json()["features"]
                    if f["properties"]["status"] == "合格")
    response = inspector.post("/api/inspections", json={
        "venue_id": venue_id, "inspector": "张伟", "result": "发现隐患", "date": "2026-11-01",
        "hazards": [{"category": "消防安全", "description": "灭火器过期",
                     "deadline": "2026-11-10"}]})
    assert response.status_code == 201
    after = figures(app)
    assert after["inspections_this_year"] == before["inspections_this_year"] + 1
    assert after["inspections_this_month"] == before["inspections_this_month"] + 1
    assert after["open_hazards"] == before["open_hazards"] + 1
    assert after["rectification_overdue"] == before["rectification_overdue"] + 1


def test_only_leaders_and_admins_see_the_figures(app):
    assert app.test_client().get("/api/records/figures").status_code == 401
    response = client_as(app, "viewer").get("/api/records/figures")
    assert response.status_code == 403
