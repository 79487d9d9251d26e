"""Figures the 2022 work summary does not give per feature are marked 示意 where a user
sees them, written one way (geodata/README.md, "Figures marked 示意"): after the unit a
label names, 「泊位(个,示意)」 and the value without it, or alone, 「层数(示意)」 and the
value with its unit."""

import re

from layers.catalogue.entries import CATALOGUE, get_layer
from layers.review.brief import facts
from layers.web.maps import popup_row

# Per-feature figures the document does not give (some of them it gives as a total).
NOT_IN_THE_DOCUMENT = {
    ("communities", "households"), ("grid", "volunteers"), ("parking", "spaces"),
    ("garbage", "bins"), ("garbage", "bins_recyclable"), ("garbage", "bins_hazardous"),
    ("garbage", "bins_kitchen"), ("garbage", "bins_residual"), ("garbage", "built"),
    ("projects", "last_update"), ("parcels", "years_idle"), ("parcels", "last_update"),
    ("hotline", "category"), ("hotline", "date"), ("selfbuilt", "floors"),
    ("vending", "cases"), ("shopfronts", "civilized"), ("shopfronts", "party_model"),
    ("shopfronts", "five_star"),
}
MARKED = [(layer, f) for layer in CATALOGUE for f in layer.fields if "示意" in f.label]


def test_the_figures_the_document_does_not_give_are_marked():
    assert {(layer.name, f.name) for layer, f in MARKED} >= NOT_IN_THE_DOCUMENT
    # ... and the document's own figures are not (三箭和平广场's 2022 investment).
    assert "示意" not in get_layer("projects").field("investment_2022_wan").label


def test_a_mark_is_written_one_way():
    for layer, f in MARKED:
        assert re.fullmatch(r"[^()]+\((?:[^,()]+,)?示意\)", f.label), (layer.name, f.label)


def test_a_popup_names_a_unit_once_beside_the_mark():
    for layer, f in MARKED:
        row = popup_row(layer, f.name)
        if f.label.endswith(f"({f.unit},示意)") and f.unit:
            assert row["unit"] == "", row  # 「泊位(个,示意)」: 36
        else:
            assert row["unit"] == f.unit, row  # 「可回收物桶(示意)」: 3 个
    assert popup_row(get_layer("parking"), "spaces")["unit"] == ""
    assert popup_row(get_layer("garbage"), "bins_kitchen")["unit"] == "个"


def test_the_brief_keeps_the_mark_and_puts_the_unit_with_the_value():
    parcel = {"name": "八里桥蔬菜市场", "status": "闲置", "owner": "某单位", "planned_use": "待定",
              "years_idle": 4, "last_update": "2022-12-20", "community": "嘉瑞社区",
              "area_m2": 1000.0, "area_mu": 1.5, "from_document": True}
    shown = dict(facts(get_layer("parcels"), parcel))
    assert shown["闲置年限(示意)"] == "4 年"
    assert shown["更新日期(示意)"] == "2022-12-20"
    assert not any("(年" in label or "示意)(" in label for label in shown)
