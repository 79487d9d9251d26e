"""The shipped data holds the facts of the 2022 work summary (../shared/seed/FACTS.md)."""

import csv
import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import shape

from layers.catalogue.entries import COMMUNITIES, GARBAGE_KINDS, NINE_SMALL, NINE_SMALL_KINDS
from layers.geo.crs import M2_PER_MU, to_metric

GEODATA = Path(__file__).resolve().parents[2] / "geodata"
GEOD = Geod(ellps="WGS84")


def features(layer):
    return json.loads((GEODATA / f"{layer}.geojson").read_text(encoding="utf-8"))["features"]


def by_name(layer):
    return {f["properties"]["name"]: f for f in features(layer)}


def metric(feature):
    return to_metric(shape(feature["geometry"]))


def rows(name):
    with open(GEODATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def geodesic_area(feature):
    """Area on the ellipsoid from the WGS84 rings: independent of EPSG:4548."""
    return abs(GEOD.geometry_area_perimeter(shape(feature["geometry"]))[0])


def test_boundary_is_about_1_64_km2_west_of_the_station():
    (boundary,) = features("boundary")
    area = metric(boundary).area
    assert area == pytest.approx(1.64e6, rel=0.01)
    assert geodesic_area(boundary) == pytest.approx(area, rel=0.005)
    minx, miny, maxx, maxy = metric(boundary).bounds
    assert 800 < maxx - minx < 1200 and 1600 < maxy - miny < 2200  # ~1 km x 2 km
    lon, lat = shape(boundary["geometry"]).centroid.coords[0]
    assert 116.95 < lon < 116.98 and 36.65 < lat < 36.69  # west of Jinan station (116.99)
    assert "经四路681号" in boundary["properties"]["office"]


def test_six_communities_tile_the_boundary():
    boundary = metric(features("boundary")[0])
    communities = features("communities")
    assert sorted(f["properties"]["name"] for f in communities) == sorted(COMMUNITIES)
    polygons = [metric(f) for f in communities]
    union = shapely.union_all(polygons)
    assert sum(p.area for p in polygons) == pytest.approx(union.area, abs=1)  # no overlap
    assert union.symmetric_difference(boundary).area < 0.01  # no gap, nothing outside


def test_grid_cells_tile_each_community():
    grid = features("grid")
    for community in features("communities"):
        name = community["properties"]["name"]
        cells = [metric(f) for f in grid if f["properties"]["community"] == name]
        assert 3 <= len(cells) <= 6, name
        union = shapely.union_all(cells)
        assert sum(c.area for c in cells) == pytest.approx(union.area, abs=1)
        assert union.symmetric_difference(metric(community)).area < 0.01, name
    assert all(f["properties"]["staffing"] == "1+1+1+N" for f in grid)
    assert len({f["properties"]["code"] for f in grid}) == len(grid)


def test_grid_and_community_codes_build_on_the_division_code_370104002():
    """中大槐树街道 is 370104002 (槐荫区 370104 + street 002); grid codes per GB/T 30428.1."""
    communities = {f["properties"]["name"]: f["properties"]["code"]
                   for f in features("communities")}
    assert all(re.fullmatch(r"370104002\d{3}", c) for c in communities.values())
    assert len(set(communities.values())) == len(communities)
    for f in features("grid"):
        code = f["properties"]["code"]
        assert re.fullmatch(r"370104002\d{6}", code), code
        assert code[:12] == communities[f["properties"]["community"]]


def test_roads_and_railway_the_document_names():
    names = by_name("roads")
    named = ("经一路", "纬十二路", "张庄路", "经二路", "经三路", "经四路")
    for road in named:
        assert road in names
    assert any(f["properties"]["kind"] == "铁路" for f in features("roads"))


def inside_length(road, boundary):
    """Length of a road more than 30 m inside the boundary (a road on the edge counts 0)."""
    return metric(road).intersection(boundary.buffer(-30)).length


def test_the_sub_district_lies_west_of_wei12_road():
    """Public facts: 纬十二路 is roughly the eastern edge; 西市场 (纬十一路, 纬十路) lies east."""
    boundary = metric(features("boundary")[0])
    roads = by_name("roads")
    wei12 = metric(roads["纬十二路"])
    east_edge = boundary.bounds[2]
    assert wei12.centroid.x > boundary.centroid.x
    assert 0 <= east_edge - wei12.centroid.x < 150 or 0 <= wei12.centroid.x - east_edge < 150
    assert inside_length(roads["纬十二路"], boundary) == 0  # along the edge, not through it
    for name in ("纬十一路", "纬十路"):  # 西市场's roads stay outside
        assert name not in roads or inside_length(roads[name], boundary) == 0
    zhangzhuang = metric(roads["张庄路"])
    assert zhangzhuang.bounds[2] <= wei12.centroid.x + 1  # runs from 纬十二路 westward
    assert inside_length(roads["张庄路"], boundary) > 700
    assert inside_length(roads["经二路"], boundary) < 100  # 西至纬十二路: barely enters
    assert inside_length(roads["经一路"], boundary) < 20


def test_road_spacing_matches_the_city():
    """经 roads about 170 m apart, 纬 roads about 230 m (within 25 %)."""
    roads = by_name("roads")
    jing = sorted(metric(roads[n]).centroid.y for n in ("经一路", "经二路", "经三路", "经四路"))
    for a, b in itertools.pairwise(jing):
        assert b - a == pytest.approx(170, rel=0.25)
    wei = sorted(metric(f).centroid.x for f in features("roads") if f["properties"]["name"]
                 in ("纬十二路", "纬十一路", "纬十路"))
    assert len(wei) >= 2
    for a, b in itertools.pairwise(wei):
        assert b - a == pytest.approx(230, rel=0.25)


def test_the_shared_parking_lot_at_jing1_wei12_is_9000_m2():
    lot = by_name("parking")["经一纬十二共享停车场"]
    assert metric(lot).area == pytest.approx(9000, rel=0.02)
    assert geodesic_area(lot) == pytest.approx(9000, rel=0.02)
    assert lot["properties"]["spaces"] > 0 and lot["properties"]["operator"]
    assert lot["properties"]["smart_platform"] is True
    roads = by_name("roads")
    assert metric(lot).distance(metric(roads["经一路"])) < 50
    assert metric(lot).distance(metric(roads["纬十二路"])) < 50
    assert metric(lot).centroid.x < metric(roads["纬十二路"]).centroid.x  # west of it


def test_garbage_points_bins_kinds_and_codes():
    points = features("garbage")
    assert len(points) >= 100
    assert sum(f["properties"]["bins"] for f in points) >= 1300
    kinds_seen = set()
    for f in points:
        p = f["properties"]
        # GB/T 30428.2: county 370104, class 03 (市容环境), subclass 05 (垃圾箱), serial 6.
        assert re.fullmatch(r"370104" r"03" r"05" r"\d{6}", p["code"]), p["code"]
        assert p["kinds"] and set(p["kinds"]) <= set(GARBAGE_KINDS)
        kinds_seen |= set(p["kinds"])
    assert kinds_seen == set(GARBAGE_KINDS)
    assert len({f["properties"]["code"] for f in points}) == len(points)


def test_projects_hold_the_document_figures():
    projects = by_name("projects")
    plaza = projects["三箭和平广场"]["properties"]
    assert plaza["investment_2022_wan"] == 17446.6
    assert plaza["expected_completion"] == "2023" and plaza["status"] == "在建"
    # The document gives no planned total nor a later figure: none is invented.
    assert "investment_to_date_wan" not in plaza and "investment_plan_wan" not in plaza
    assert projects["长者食堂"]["properties"]["status"] != "运营中"  # 2023 work to speed up
    assert projects["东方新天地"]["properties"]["category"] == "风险点"
    assert projects["东方新天地"]["properties"]["status"] != "运营中"
    assert projects["槐荫人民医院北院区"]["properties"]["partner"] == "山东君心国际医院有限公司"
    assert "3A" in projects["广友茶城"]["properties"]["description"]
    for name in ("鲁华物流改造提升项目", "纬十二路商业街", "东方新天地", "泉城书房",
                 "图书馆御景分馆", "图书馆裕园分馆", "便民微服务社", "红色阳光房", "警务服务室",
                 "便民公益食堂", "社区文化广场", "人大代表工作站"):
        assert name in projects
    assert projects["图书馆御景分馆"]["properties"]["community"] == "御景社区"
    assert projects["图书馆裕园分馆"]["properties"]["community"] == "裕园社区"


def test_planned_facilities_lie_where_the_document_puts_them():
    projects = by_name("projects")
    balitiao = metric(by_name("parcels")["八里桥片区"])
    for name in ("便民微服务社", "红色阳光房", "警务服务室", "便民公益食堂"):  # 八里桥片区
        assert balitiao.contains(metric(projects[name])), name
    for name in ("社区文化广场", "人大代表工作站"):  # 裕园社区's renovation
        assert projects[name]["properties"]["community"] == "裕园社区", name


def test_communities_pilots_and_households():
    communities = {f["properties"]["name"]: f["properties"] for f in features("communities")}
    for name in ("嘉瑞社区", "忠厚街社区"):  # pilots for old *enclosed* compounds
        assert "封闭式" in communities[name]["highlights"]
        assert "开放式" not in communities[name]["highlights"]
    assert "试点" not in communities["裕北社区"]["highlights"]
    assert "红色物业" in communities["御景社区"]["highlights"]
    # About 16,900 registered and 11,000 floating residents (2011): some 10,700 households.
    assert 9_000 <= sum(c["households"] for c in communities.values()) <= 13_000


def test_parcels_idle_land_and_balitiao_130_mu():
    parcels = by_name("parcels")
    for name in ("八里桥蔬菜市场", "济南富裕床单厂", "鲁华物流仓库", "三联印务地块"):
        p = parcels[name]["properties"]
        assert p["from_document"] and p["owner"] and p["planned_use"]
        assert p["years_idle"] >= 0 and p["status"]
    assert "6.16" in parcels["鲁华物流仓库"]["properties"]["note"]
    balitiao = parcels["八里桥片区"]
    assert metric(balitiao).area / M2_PER_MU == pytest.approx(130, rel=0.02)
    assert geodesic_area(balitiao) / M2_PER_MU == pytest.approx(130, rel=0.02)
    market = parcels["八里桥蔬菜市场"]  # part of the 片区
    assert market["properties"]["part_of"] == "八里桥片区"
    assert metric(balitiao).contains(metric(market))
    polygons = [metric(f) for f in parcels.values() if not f["properties"].get("part_of")]
    assert sum(p.area for p in polygons) == pytest.approx(shapely.union_all(polygons).area)


def test_venues_353_with_320_nine_small_of_every_kind():
    venues = features("venues")
    assert len(venues) >= 353
    nine = [f for f in venues if f["properties"]["category"] == NINE_SMALL]
    assert len(nine) == 320
    assert set(Counter(f["properties"]["kind"] for f in nine)) == set(NINE_SMALL_KINDS)
    assert all(f["properties"]["quancheng_app"] for f in venues)


def test_no_venue_inside_a_parcel_or_project_site():
    sites = shapely.union_all([metric(f) for f in features("parcels") + features("projects")])
    assert not any(sites.contains(metric(f)) for f in features("venues"))


def test_every_feature_has_a_unique_id_and_lies_inside():
    boundary = metric(features("boundary")[0]).buffer(1)
    for layer in ("communities", "grid", "parking", "garbage", "projects", "parcels", "venues",
                  "hotline", "selfbuilt", "illegal_removed", "railway_cleanup", "vending",
                  "compounds", "shopfronts"):
        fs = features(layer)
        assert len({f["id"] for f in fs}) == len(fs), layer
        assert all(boundary.contains(metric(f)) for f in fs), layer


@pytest.mark.parametrize("layer", ["boundary", "communities", "grid", "projects", "parcels"])
def test_polygon_rings_wind_as_rfc_7946_says(layer):
    """Exterior rings counterclockwise, holes clockwise (RFC 7946 section 3.1.6)."""
    for f in features(layer):
        for polygon in getattr(shape(f["geometry"]), "geoms", [shape(f["geometry"])]):
            assert shapely.is_ccw(polygon.exterior), f["id"]
            assert not any(shapely.is_ccw(ring) for ring in polygon.interiors), f["id"]


def test_community_property_matches_the_geometry():
    communities = {f["properties"]["name"]: metric(f) for f in features("communities")}
    for layer in ("garbage", "venues", "parking", "projects", "parcels"):
        for f in features(layer):
            where = metric(f).representative_point()
            assert communities[f["properties"]["community"]].covers(where), (layer, f["id"])


def test_inspection_history_matches_2022_figures():
    inspections = rows("inspections.csv")
    hazards = rows("hazards.csv")
    venues = {f["id"]: f["properties"] for f in features("venues")}
    assert {r["venue_id"] for r in inspections} <= set(venues)
    in_2022 = [r for r in inspections if r["date"].startswith("2022")]
    assert len({r["venue_id"] for r in in_2022}) >= 310
    nine_checked = {r["venue_id"] for r in in_2022 if r["campaign"] == "九小场所专项检查"}
    assert nine_checked == {v for v, p in venues.items() if p["category"] == NINE_SMALL}
    fixed_2022 = [h for h in hazards if h["found"].startswith("2022") and h["status"] == "已整改"]
    assert len(fixed_2022) == 182
    assert all(h["rectified"].startswith("2022") for h in fixed_2022)


def test_history_is_coherent_and_never_in_the_future():
    today = "2026-11-25"
    inspections = {r["id"]: r for r in rows("inspections.csv")}
    for r in inspections.values():
        assert r["date"] <= today and r["result"] in ("合格", "发现隐患")
    hazard_inspections = set()
    for h in rows("hazards.csv"):
        inspection = inspections[h["inspection_id"]]
        assert inspection["venue_id"] == h["venue_id"] and inspection["date"] == h["found"]
        assert inspection["result"] == "发现隐患"
        assert (h["status"] == "已整改") == bool(h["rectified"])
        assert not h["rectified"] or h["found"] <= h["rectified"] <= today
        hazard_inspections.add(h["inspection_id"])
    assert hazard_inspections == {i for i, r in inspections.items() if r["result"] == "发现隐患"}


def test_statuses_today_mix_ok_overdue_and_open_hazards(client):
    venues = client.get("/api/layers/venues").get_json()["features"]
    statuses = Counter(f["properties"]["status"] for f in venues)
    # An open hazard: 隐患未改, or 超期未整改 once past its deadline (10 venues on TODAY).
    assert 15 <= statuses["隐患未改"] + statuses["超期未整改"] <= 25
    assert 5 <= statuses["超期未整改"] <= 15
    assert 20 <= statuses["逾期未检"] <= 40
    assert statuses["合格"] > 250


def test_the_generator_is_deterministic(tmp_path):
    from geodata.make_geodata import main

    main(tmp_path)
    for path in sorted(GEODATA.glob("*.geojson")) + sorted(GEODATA.glob("*.csv")):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


# ------------------------------------------- the rest of the document, as layers
def test_hotline_work_orders_3176_all_answered_closed_satisfied():
    orders = features("hotline")
    assert len(orders) == 3176  # 承办12345市民服务热线工单3176
    assert all(o["properties"][k] for o in orders for k in ("answered", "closed", "satisfied"))
    assert {o["properties"]["date"][:4] for o in orders} == {"2022"}
    assert len({o["properties"]["date"][:7] for o in orders}) == 12
    per_community = Counter(o["properties"]["community"] for o in orders)
    assert set(per_community) == set(COMMUNITIES)
    # Complaints concentrate (the planners' question): the densest community holds well
    # over its share of the area.
    boundary = metric(features("boundary")[0]).area
    areas = {f["properties"]["name"]: metric(f).area for f in features("communities")}
    densest = max(per_community, key=lambda c: per_community[c] / areas[c])
    assert per_community[densest] / len(orders) > 1.3 * areas[densest] / boundary


def test_self_built_houses_illegal_building_railway_and_vending_counts():
    assert len(features("selfbuilt")) == 14  # 排查整治经营性自建房14户
    removed = sum(metric(f).area for f in features("illegal_removed"))
    assert 900 <= removed < 1000  # 拆除违章建筑900余平
    cleaned = sum(metric(f).area for f in features("railway_cleanup"))
    assert 600 <= cleaned < 700  # 铁路沿线环境600余平
    railway = next(metric(f) for f in features("roads") if f["properties"]["kind"] == "铁路")
    assert all(metric(f).distance(railway) < 30 for f in features("railway_cleanup"))
    cases = sum(f["properties"]["cases"] for f in features("vending"))
    assert 40 <= cases < 50  # 处理占道经营40余人次


def test_compounds_open_old_enclosed_pilots_and_the_red_property_model():
    compounds = by_name("compounds")
    kinds = Counter(f["properties"]["kind"] for f in compounds.values())
    assert kinds["开放式老旧小区"] > len(compounds) / 2  # 开放式老旧小区占比重较大
    pilots = {f["properties"]["community"] for f in compounds.values()
              if f["properties"]["kind"] == "老旧封闭式小区"
              and f["properties"]["red_property_pilot"]}
    assert pilots == {"嘉瑞社区", "忠厚街社区"}
    assert "红色物业" in compounds["御景小区"]["properties"]["model"]
    for f in compounds.values():
        community = metric(by_name("communities")[f["properties"]["community"]])
        assert community.contains(metric(f)), f["id"]
    polygons = [metric(f) for f in compounds.values()]
    assert sum(p.area for p in polygons) == pytest.approx(shapely.union_all(polygons).area)


def test_shopfronts_436_pledges_with_the_marks_the_document_counts():
    shops = features("shopfronts")
    assert len(shops) == 436 and all(s["properties"]["pledge_signed"] for s in shops)
    marked = sum(s["properties"]["civilized"] or s["properties"]["party_model"] for s in shops)
    assert 50 <= marked < 60  # “文明商户”“党员示范商户”50余个
    assert sum(s["properties"]["five_star"] for s in shops) == 103  # “五星级单位”103个
    assert not any(s["properties"]["civilized"] and s["properties"]["party_model"] for s in shops)


@pytest.mark.parametrize("layer", ["hotline", "selfbuilt", "illegal_removed", "railway_cleanup",
                                   "vending", "compounds", "shopfronts"])
def test_new_layers_say_what_is_illustrative(layer):
    from layers.catalogue.entries import get_layer

    entry = get_layer(layer)
    assert "示意" in entry.description and "工作总结" in entry.description
    assert len({f["id"] for f in features(layer)}) == len(features(layer))
