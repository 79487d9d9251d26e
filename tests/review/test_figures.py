"""The figures of the year: the data file holds the document's numbers; bad files are refused."""

import copy
import json
import re
from pathlib import Path

import pytest

from layers.catalogue.validate import LayerDataError
from layers.review.figures import check_figures, figures_by_id, load_figures
from tests.conftest import make_app

CLIENT_ROLE = "leader"  # the `client` fixture logs in with this role (tests/conftest.py)
FIGURES = Path(__file__).resolve().parents[2] / "geodata" / "figures_2022.json"


@pytest.fixture(scope="module")
def shipped():
    return load_figures(FIGURES)


# The work summary's figures (../shared/seed/FACTS.md): value, unit, % of plan / year on year.
DOCUMENT = {
    "district_tax": (4574, "万元", {"plan_pct": 65.7}),
    "fixed_asset_investment": (25446.6, "万元", {"plan_pct": 63.6}),
    "investment_attracted": (98410, "万元", {}),
    "key_project_investment": (17446.6, "万元", {}),
    "new_firms": (133, "家", {}),
    "firms_over_20000": (2, "家", {}),
    "firms_over_5000": (1, "家", {}),
    "firms_over_1000": (15, "家", {}),
    "trade_sales": (216518, "万元", {"yoy_pct": 4.7}),
    "retail_sales": (52929, "万元", {"yoy_pct": 2.9}),
    "services_revenue": (5128.5, "万元", {"yoy_pct": -17.8}),
    "illegal_buildings_removed": (900, "平方米", {"qualifier": "余"}),
    "street_vending": (40, "人次", {"qualifier": "余"}),
    "self_built_houses": (14, "户", {}),
    "hotline_orders": (3176, "件", {}),
    "hotline_rates": (100, "%", {}),
    "safety_trainings": (7, "场", {}),
    "emergency_drills": (10, "次", {}),
    "warning_meetings": (3, "次", {}),
    "job_fairs": (20, "场", {"qualifier": "近"}),
    "new_jobs": (750, "人", {}),
    "reemployed": (126, "人", {}),
    "welfare_posts": (43, "个", {}),
    "employment_subsidies": (52, "万元", {}),
    "venues_checked": (310, "家", {"qualifier": "余"}),
    "hazards_rectified": (182, "处", {}),
}


@pytest.mark.parametrize(("fid", "expected"), DOCUMENT.items())
def test_the_document_figures_are_in_the_file(shipped, fid, expected):
    value, unit, extra = expected
    figure = figures_by_id(shipped)[fid]
    assert figure["value"] == value and figure["unit"] == unit
    for key, v in extra.items():
        assert figure[key] == v


def test_every_quote_holds_its_figures(shipped):
    for figure in figures_by_id(shipped).values():
        if "quote" not in figure:
            continue
        numbers = {float(n) for n in re.findall(r"\d+(?:\.\d+)?", figure["quote"])}
        assert figure["value"] in numbers, figure["id"]
        for key in ("plan_pct", "yoy_pct"):
            if key in figure:
                assert abs(figure[key]) in numbers, (figure["id"], key)
        if figure.get("yoy_pct", 0) < 0:
            assert "下降" in figure["quote"]


def test_the_derived_figure_is_worked_out(shipped):
    f = figures_by_id(shipped)
    assert "quote" not in f["firms_under_1000"] and f["firms_under_1000"]["derived"]
    buckets = ("firms_over_20000", "firms_over_5000", "firms_over_1000")
    assert f["firms_under_1000"]["value"] == (
        f["new_firms"]["value"] - sum(f[b]["value"] for b in buckets))


def test_charts_and_highlights_name_real_figures(shipped):
    assert check_figures(shipped) == []
    assert {c["type"] for c in shipped["charts"]} == {"plan", "growth", "share", "bar"}
    assert len(shipped["highlights"]) >= 6


def broken(shipped, change):
    data = copy.deepcopy(shipped)
    change(data)
    return [message for _, message in check_figures(data)]


def test_problems_are_named(shipped):
    def no_source(d):
        d["groups"][0]["figures"][0].pop("quote")

    def unknown_chart_figure(d):
        d["charts"][0]["figures"].append("nope")

    def plan_without_pct(d):
        d["charts"][0]["figures"].append("new_firms")

    def text_value(d):
        d["groups"][0]["figures"][0]["value"] = "4574"

    def twice(d):
        d["groups"][1]["figures"].append(copy.deepcopy(d["groups"][0]["figures"][0]))

    assert any("'quote'" in m for m in broken(shipped, no_source))
    assert "no figure 'nope'" in broken(shipped, unknown_chart_figure)
    assert "new_firms has no plan_pct" in broken(shipped, plan_without_pct)
    assert any("'value' must be a number" in m for m in broken(shipped, text_value))
    assert "id is used twice" in broken(shipped, twice)
    assert check_figures([]) == [(None, "must be a JSON object")]


def test_the_app_refuses_a_broken_figures_file(tmp_path, shipped):
    bad = copy.deepcopy(shipped)
    bad["charts"][1]["type"] = "pie3d"
    path = tmp_path / "figures.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(LayerDataError, match="'type' must be one of"):
        make_app(tmp_path / "db.sqlite", FIGURES_FILE=path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(LayerDataError, match="not valid UTF-8 JSON"):
        make_app(tmp_path / "db.sqlite", FIGURES_FILE=path)
    with pytest.raises(LayerDataError, match="missing"):
        make_app(tmp_path / "db.sqlite", FIGURES_FILE=tmp_path / "none.json")


def test_api_serves_the_file(client, shipped):
    response = client.get("/api/figures")
    assert response.status_code == 200
    assert response.get_json() == shipped


def test_dashboard_page_has_no_figure_written_in(client, shipped):
    html = client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "/api/figures" in html
    assert "/static/node_modules/chart.js/dist/chart.umd.min.js" in html
    for figure in figures_by_id(shipped).values():
        for text in (f"{figure['value']:g}", f"{figure['value']:,g}"):
            if len(text) >= 3:
                assert text not in html, figure["id"]
        assert figure["label"] not in html, figure["id"]
