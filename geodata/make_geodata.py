"""Make the shipped geodata of 中大槐树街道, deterministically.

    python geodata/make_geodata.py [OUT_DIR]

Facts (names, counts, areas, investments, the inspection figures of 2022) come
from the sub-district's 2022 work summary (../shared/seed/FACTS.md); positions
and everything the document does not give are illustrative (geodata/README.md
says which is which). Geometry is laid out in metres in EPSG:4548 around the
real place, west of Jinan railway station and of 纬十二路 (the public facts the
layout follows are listed in geodata/README.md), then written as WGS84 GeoJSON with
7 decimals (about 1 cm). The same seed gives the same files, byte for byte.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import shapely
import shapely.ops
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layers.catalogue.entries import (
    COMMUNITIES,
    FIRM,
    GARBAGE_BIN_FIELDS,
    GARBAGE_KINDS,
    NINE_SMALL,
)
from layers.catalogue.entries import (
    HOTLINE_CATEGORIES as CATALOGUE_HOTLINE_CATEGORIES,
)
from layers.geo.crs import M2_PER_MU, lonlat_to_metric, to_wgs84
from layers.records.inspections import interval_days

SEED = 20221231
TODAY = dt.date(2026, 11, 25)  # the history runs up to this date
SW_CORNER = (116.9575, 36.6595)  # lon/lat of the local origin (approximate)
BOUNDARY_AREA_M2 = 1.64e6
DECIMALS = 7
ILLUSTRATIVE = "位置为示意"

# ---------------------------------------------------------------- the frame
# Local metres: x east, y north, origin at the south-west corner. Jinan's 经
# roads run east-west (经一路 northmost, about 170 m apart), its 纬 roads
# north-south (纬十二路 westmost of them, about 230 m apart). Public sources
# put the sub-district west of 纬十二路, which is roughly its eastern edge
# (西市场街道, with 纬十一路 and 纬十路, lies east of it): 经一路 and 经二路
# end at 纬十二路, 张庄路 runs from it westward, 经三路 and 经四路 cross into
# the sub-district; the railway runs along its northern part.
WEI12_X = 1000.0  # 纬十二路
EAST_EDGE_X = WEI12_X + 12  # the boundary follows the road's eastern kerb
BOUNDARY_OUTLINE = [
    (EAST_EDGE_X, 0), (EAST_EDGE_X, 1640), (880, 1700), (560, 1720), (260, 1690), (40, 1620),
    (0, 1250), (-20, 900), (10, 520), (-15, 180), (30, 0),
]
JING_Y = {"经四路": 150.0, "经三路": 320.0, "经二路": 490.0, "经一路": 660.0}
ZHANGZHUANG_Y = JING_Y["经一路"]  # 张庄路 continues the line of 经一路 westward
WEST_REACH, EAST_REACH = -80.0, WEI12_X + 230 + 40  # roads drawn to 纬十一路 and a little on
WEI_X = {"纬十二路": WEI12_X, "纬十一路": WEI12_X + 230}
LANE_X = 310.0  # 忠厚街 and 昆仑街 (lanes inside the sub-district; illustrative)
COLUMN_X = 500.0  # communities: west and east halves
RAILWAY = ((-120.0, 1000.0), (1300.0, 1060.0))
TOP = 1800.0

# name -> (kind, note, line); lines in local metres.
ROADS: dict[str, tuple[str, str | None, list[tuple[float, float]]]] = {
    "经四路": ("主干路", "街道办事处位于经四路681号",
              [(WEST_REACH, JING_Y["经四路"]), (EAST_REACH, JING_Y["经四路"])]),
    "经三路": ("次干路", None,
              [(WEST_REACH, JING_Y["经三路"]), (EAST_REACH, JING_Y["经三路"])]),
    "经二路": ("次干路", "东起普利门,西至纬十二路(在辖区东缘止)",
              [(WEI12_X - 40, JING_Y["经二路"]), (EAST_REACH, JING_Y["经二路"])]),
    "经一路": ("主干路", "西至纬十二路,与张庄路相接;经一纬十二路口设共享停车场",
              [(WEI12_X, JING_Y["经一路"]), (EAST_REACH, JING_Y["经一路"])]),
    "张庄路": ("主干路", "“黄金中轴”,东起纬十二路向西,广友茶城所在",
              [(WEI12_X, ZHANGZHUANG_Y), (WEST_REACH, ZHANGZHUANG_Y)]),
    "纬十二路": ("主干路", "纬十二路商业街(“金街”);辖区大致以此为东界",
               [(WEI12_X, -60), (WEI12_X, TOP)]),
    "纬十一路": ("次干路", "西市场街道境内,在辖区以东",
               [(WEI_X["纬十一路"], -60), (WEI_X["纬十一路"], TOP)]),
    "忠厚街": ("支路", "走向与位置为示意", [(LANE_X, -60), (LANE_X, JING_Y["经三路"])]),
    "昆仑街": ("支路", "走向与位置为示意",
              [(LANE_X, JING_Y["经三路"]), (LANE_X, ZHANGZHUANG_Y)]),
}
# Roads whose names an address inside the sub-district may carry.
ADDRESS_ROADS = ("经四路", "经三路", "张庄路", "纬十二路", "忠厚街", "昆仑街")

# Communities: bands cut by 经三路 and 张庄路, halves cut at COLUMN_X.
COMMUNITY_CELLS = {  # (column, band) -> name
    (0, 0): "忠厚街社区", (1, 0): "裕园社区",
    (0, 1): "昆仑街社区", (1, 1): "裕北社区",
    (0, 2): "御景社区", (1, 2): "嘉瑞社区",
}
COMMUNITY_FACTS = {
    "裕园社区": "全国先进基层群众性自治组织;智慧停车平台;老旧小区改造;长者食堂(推进中);"
                "云香工作室实训基地;图书馆分馆",
    "御景社区": "“一核两翼,多元共治”红色物业治理模式(区级示范点);图书馆分馆",
    "昆仑街社区": "“1+7+2+N”工作法,“五家联动”",
    "裕北社区": "“党建”品牌项目",
    "嘉瑞社区": "老旧封闭式小区红色物业管理新模式试点",
    "忠厚街社区": "老旧封闭式小区红色物业管理新模式试点",
}
# Households (illustrative): public records give about 16,900 registered and
# 11,000 floating residents (2011); at about 2.6 persons a household that is
# some 10,700 households, shared here among the six communities.
HOUSEHOLDS_TOTAL = 10_700
HOUSEHOLD_SHARES = {"裕园社区": 21, "御景社区": 16, "昆仑街社区": 18, "裕北社区": 14,
                    "嘉瑞社区": 13, "忠厚街社区": 18}
# Codes. The division code of 中大槐树街道 is 370104002 (统计用区划代码: 370104 槐荫区
# + 002); the grid cells' codes follow GB/T 30428.1 (county 6 + street 3 +
# community 3 + cell 3 digits), the communities' 3 digits being illustrative.
STREET_DIVISION_CODE = "370104002"
COMMUNITY_CODES = {name: f"{i:03d}" for i, name in enumerate(
    ("裕园社区", "御景社区", "昆仑街社区", "裕北社区", "嘉瑞社区", "忠厚街社区"), start=1)}
# Component codes follow GB/T 30428.2 / CJJ/T 106: county 6 + class 2 + subclass 2
# + serial 6 digits; class 03 is 市容环境类, its subclass 05 垃圾箱 (03 is 公厕指示牌,
# 04 垃圾间(楼)): a drop point is a set of bins.
COMPONENT_CLASS, COMPONENT_SUBCLASS = "03", "05"


def rect(x0: float, y0: float, width: float, height: float) -> Polygon:
    return box(x0, y0, x0 + width, y0 + height)


def boundary_local() -> Polygon:
    """The outline, stretched east-west about 纬十二路 to the 1.64 km² of the records."""
    outline = Polygon(BOUNDARY_OUTLINE)
    factor = BOUNDARY_AREA_M2 / outline.area
    return affinity.scale(outline, factor, 1.0, origin=(EAST_EDGE_X, 0))


def long_line(axis: str, at: float) -> LineString:
    """A cut line across the whole frame."""
    if axis == "x":
        return LineString([(at, -500), (at, 2600)])
    return LineString([(-500, at), (1600, at)])


def split_all(pieces: list[Polygon], cuts: Iterable[LineString]) -> list[Polygon]:
    for cut in cuts:
        pieces = [p for piece in pieces for p in split(piece, cut).geoms]
    return pieces


def cell_of(point: Point) -> tuple[int, int]:
    column = int(point.x > COLUMN_X)
    band = int(point.y > JING_Y["经三路"]) + int(point.y > ZHANGZHUANG_Y)
    return column, band


def community_polygons(outline: Polygon) -> dict[str, Polygon]:
    pieces = split_all([outline], [long_line("y", JING_Y["经三路"]),
                                   long_line("y", ZHANGZHUANG_Y),
                                   long_line("x", COLUMN_X)])
    by_name = {COMMUNITY_CELLS[cell_of(p.representative_point())]: p for p in pieces}
    assert sorted(by_name) == sorted(COMMUNITIES), by_name.keys()
    return {name: by_name[name] for name in COMMUNITIES}


def grid_cuts(community: str) -> list[LineString]:
    """Grid cells follow the roads inside each community."""
    railway = LineString([RAILWAY[0], RAILWAY[1]])
    east = long_line("x", WEI12_X - 230)  # illustrative cut, one 纬 spacing west of 纬十二路
    return {
        "裕园社区": [long_line("y", JING_Y["经四路"]), east],
        "忠厚街社区": [long_line("y", JING_Y["经四路"]), long_line("x", LANE_X)],
        "裕北社区": [long_line("y", JING_Y["经二路"]), east],
        "昆仑街社区": [long_line("y", JING_Y["经二路"]), long_line("x", LANE_X)],
        "嘉瑞社区": [railway, east],
        "御景社区": [railway, long_line("x", 250)],
    }[community]


# ------------------------------------------------------ sites (local metres)
BALIQIAO = rect(560, 680, 300, 130 * M2_PER_MU / 300)  # 130 亩 = 86,666.7 m²
PARCELS: list[dict[str, Any]] = [
    dict(id="P01", name="八里桥片区", geom=BALIQIAO,
         status="规划中", owner="八里桥片区原产权单位(多家)",
         planned_use="片区整体盘活,商业与居住综合开发",
         years_idle=5, last_update="2022-12-20", from_document=True,
         note="工作总结:八里桥片区130亩土地待盘活;权属、用途、闲置年限为示意"),
    dict(id="P02", name="八里桥蔬菜市场", geom=rect(580, 700, 140, 120),
         status="闲置", owner="八里桥蔬菜市场经营单位", planned_use="纳入八里桥片区统筹开发",
         years_idle=4, last_update="2022-12-20", from_document=True, part_of="八里桥片区",
         note="工作总结:闲置土地尚未开发,属八里桥片区;权属与闲置年限为示意"),
    dict(id="P03", name="三联印务地块", geom=rect(880, 700, 100, 120),
         status="规划中", owner="济南三联印务有限公司", planned_use="与八里桥片区联动规划",
         years_idle=3, last_update="2022-12-20", from_document=True,
         note="工作总结:与八里桥片区联动规划;闲置年限为示意"),
    dict(id="P04", name="济南富裕床单厂", geom=rect(120, 380, 140, 110),
         status="闲置", owner="济南富裕床单厂", planned_use="待定(拟招商盘活)",
         years_idle=6, last_update="2022-12-20", from_document=True,
         note="工作总结:闲置土地尚未开发;闲置年限为示意"),
    dict(id="P05", name="鲁华物流仓库", geom=rect(100, 1150, 120, 140),
         status="闲置", owner="鲁华物流有限公司", planned_use="配合鲁华物流改造提升项目",
         years_idle=2, last_update="2022-12-20", from_document=True,
         note="“6.16”火灾受损,尚未开发"),
    dict(id="P06", name="经三路原仓储地块", geom=rect(620, 220, 100, 80),
         status="已利用", owner="区属国有企业(示意)", planned_use="社区配套用房",
         years_idle=0, last_update="2022-06-30", from_document=False, note="示意地块"),
    dict(id="P07", name="昆仑街临街地块", geom=rect(340, 560, 110, 80),
         status="在建", owner="区属国有企业(示意)", planned_use="便民商业",
         years_idle=0, last_update="2022-09-15", from_document=False, note="示意地块"),
]

PROJECTS: list[dict[str, Any]] = [
    dict(id="J01", name="三箭和平广场", geom=rect(620, 360, 140, 140), category="重点项目",
         status="在建",
         description="主体验收及装饰施工有序进行;临近居民区,环保扬尘与噪音压力致进展较慢",
         investment_2022_wan=17446.6, expected_completion="2023", last_update="2022-12-31",
         from_document=True,
         note="工作总结:1-12月累计完成投资17446.6万元,预计2023年建成投入使用"),
    dict(id="J02", name="槐荫人民医院北院区", geom=rect(140, 1320, 120, 120), category="医疗养老",
         status="筹备开业", description="开业条件逐步完备,将成为新的税收增长点",
         partner="山东君心国际医院有限公司", from_document=True),
    dict(id="J03", name="鲁华物流改造提升项目", geom=rect(230, 1150, 70, 140), category="医疗养老",
         status="规划中", description="改造为集休闲娱乐、健康管理、日间照料于一体的康养综合体",
         from_document=True),
    dict(id="J04", name="广友茶城", geom=rect(200, 680, 200, 100), category="商业",
         status="运营中", description="张庄路茶叶市场,国家3A级旅游景区", from_document=True),
    dict(id="J05", name="纬十二路商业街", geom=rect(974, 10, 24, 300), category="商业",
         status="运营中", description="纬十二路商业街(“金街”)提升", from_document=True),
    dict(id="J06", name="东方新天地", geom=rect(800, 200, 60, 60), category="风险点",
         status="程序化解", description="市级领导包案风险点:房产证办理问题已推进程序化解",
         from_document=True, note="工作总结只作为风险点提及;用途与形状为示意"),
    dict(id="J07", name="泉城书房", geom=rect(400, 60, 30, 30), category="文化",
         status="运营中", description="“15分钟都市阅读圈”阅读点", from_document=True),
    dict(id="J08", name="图书馆御景分馆", geom=rect(380, 1300, 25, 25), category="文化",
         status="运营中", description="区图书馆社区分馆,“15分钟都市阅读圈”", from_document=True),
    dict(id="J09", name="图书馆裕园分馆", geom=rect(560, 60, 25, 25), category="文化",
         status="运营中", description="区图书馆社区分馆,“15分钟都市阅读圈”", from_document=True),
    dict(id="J10", name="云香工作室", geom=rect(880, 60, 20, 20), category="文化",
         status="运营中", description="裕园社区培训基地", from_document=True),
    dict(id="J11", name="长者食堂", geom=rect(680, 80, 25, 25), category="医疗养老",
         status="在建", description="裕园社区长者食堂项目,2023年加快推进", from_document=True,
         note="工作总结列入2023年加快推进的项目,尚未运营"),
    dict(id="J12", name="便民微服务社", geom=rect(750, 720, 20, 20), category="便民设施",
         status="规划中", description="八里桥片区补齐基础设施短板,计划打造", from_document=True),
    dict(id="J13", name="红色阳光房", geom=rect(800, 720, 20, 20), category="便民设施",
         status="规划中", description="八里桥片区补齐基础设施短板,计划打造", from_document=True),
    dict(id="J14", name="警务服务室", geom=rect(750, 880, 20, 20), category="便民设施",
         status="规划中", description="八里桥片区补齐基础设施短板,计划打造", from_document=True),
    dict(id="J15", name="便民公益食堂", geom=rect(800, 880, 25, 25), category="便民设施",
         status="规划中", description="八里桥片区补齐基础设施短板,计划打造", from_document=True),
    dict(id="J16", name="社区文化广场", geom=rect(600, 20, 70, 30), category="便民设施",
         status="规划中", description="裕园社区老旧小区提升改造,高标准打造", from_document=True),
    dict(id="J17", name="人大代表工作站", geom=rect(900, 240, 20, 20), category="便民设施",
         status="规划中", description="裕园社区老旧小区提升改造中打造", from_document=True),
]

# The other projects were last updated with the year's summary (illustrative).
PROJECTS_UPDATED = "2022-12-20"
for _project in PROJECTS:
    _project.setdefault("last_update", PROJECTS_UPDATED)

# Sites that lie inside another on purpose: parts of the 八里桥片区.
INSIDE_BALIQIAO = {"八里桥蔬菜市场", "便民微服务社", "红色阳光房", "警务服务室", "便民公益食堂"}

PARKING: list[dict[str, Any]] = [
    # 9,000 m² at the 经一路 / 纬十二路 crossing, west of 纬十二路.
    dict(id="K01", name="经一纬十二共享停车场", geom=rect(870, 555, 100, 90), kind="共享停车场",
         spaces=300, operator="中大槐树街道(裕园社区智慧停车平台)", smart_platform=True,
         note="工作总结:共建共享经一纬十二9000平方米停车场;泊位数为示意"),
    dict(id="K02", name="忠厚街社区公共停车场", geom=rect(100, 200, 40, 30), kind="公共停车场",
         spaces=40, operator="忠厚街社区居委会", smart_platform=False),
    dict(id="K03", name="裕园小区停车场", geom=rect(620, 170, 40, 30), kind="小区停车场",
         spaces=38, operator="裕园小区物业", smart_platform=True),
    dict(id="K04", name="经三路公共停车场", geom=rect(880, 330, 50, 30), kind="公共停车场",
         spaces=48, operator="槐荫区静态交通公司(示意)", smart_platform=True),
    dict(id="K05", name="御景小区停车场", geom=rect(300, 1450, 40, 30), kind="小区停车场",
         spaces=36, operator="御景社区红色物业", smart_platform=True),
    dict(id="K06", name="张庄路北停车场", geom=rect(430, 690, 60, 40), kind="公共停车场",
         spaces=80, operator="槐荫区静态交通公司(示意)", smart_platform=False),
    dict(id="K07", name="嘉瑞小区停车场", geom=rect(700, 1300, 40, 30), kind="小区停车场",
         spaces=35, operator="嘉瑞小区物业", smart_platform=False),
    dict(id="K08", name="广友茶城停车场", geom=rect(410, 790, 40, 40), kind="公共停车场",
         spaces=64, operator="广友茶城", smart_platform=True),
]

# ---------------------------------------------------------- points and names
GARBAGE_POINTS = 108
GARBAGE_BINS_TOTAL = 1320
NINE_SMALL_COUNTS = {  # 320 in all, every one of the nine kinds present
    "小学校或幼儿园": 15, "小医院": 20, "小商店": 95, "小餐饮": 80, "小旅馆": 20,
    "小歌舞娱乐": 18, "小网吧": 12, "小美容洗浴": 35, "小生产加工企业": 25,
}
FIRM_COUNTS = {"商贸企业": 15, "工贸企业": 8, "物流仓储企业": 6, "建筑施工企业": 4}  # 33
PLEDGE_KINDS = {"小商店", "小餐饮", "小美容洗浴", "小旅馆", "小网吧", "小歌舞娱乐"}

NAME_WORDS = list("惠福鑫康佳顺如金槐和泉阳万喜同兴聚盛华祥瑞嘉德利源丰泰隆安宏悦乐新")
SUFFIXES = {
    "小学校或幼儿园": ["幼儿园", "培训学校", "托育中心"],
    "小医院": ["诊所", "门诊部", "口腔诊所", "卫生室"],
    "小商店": ["便利店", "超市", "五金店", "日杂店", "烟酒店", "水果店"],
    "小餐饮": ["饭店", "面馆", "快餐店", "水饺馆", "烧烤店", "包子铺"],
    "小旅馆": ["宾馆", "旅馆", "快捷酒店"],
    "小歌舞娱乐": ["KTV", "歌舞厅", "量贩KTV"],
    "小网吧": ["网吧", "网咖"],
    "小美容洗浴": ["美容美发店", "理发店", "足疗店", "洗浴中心"],
    "小生产加工企业": ["食品加工坊", "印刷厂", "服装加工部", "门窗加工部"],
    "商贸企业": ["商贸有限公司"],
    "工贸企业": ["工贸有限公司"],
    "物流仓储企业": ["物流有限公司"],
    "建筑施工企业": ["建筑工程有限公司"],
}
INSPECTORS = ["王磊", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "孙浩"]
HAZARD_TEXT = {
    "消防安全": ["灭火器过期", "消防通道堆放杂物", "未设置应急照明"],
    "用电安全": ["私拉乱接电线", "电动车室内充电", "配电箱无防护"],
    "燃气安全": ["燃气软管老化", "未安装燃气报警器", "液化气瓶违规存放"],
    "疏散通道": ["安全出口锁闭", "疏散指示标志缺失"],
    "建筑安全": ["违规设置夹层", "广告牌固定不牢"],
    "其他": ["安全管理制度不健全", "员工安全培训记录缺失"],
}


def to_lonlat_geometry(local: BaseGeometry, origin: tuple[float, float]) -> dict[str, Any]:
    """Local metres -> WGS84 GeoJSON geometry, rounded."""
    metric = affinity.translate(local, origin[0], origin[1])
    wgs84 = shapely.set_precision(to_wgs84(metric), 0)  # keep every vertex
    wgs84 = shapely.orient_polygons(wgs84)  # exterior rings counterclockwise (RFC 7946)
    geometry = mapping(shapely.transform(wgs84, lambda xy: xy.round(DECIMALS)))
    return json.loads(json.dumps(geometry))  # tuples -> lists


class Builder:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.origin = lonlat_to_metric(*SW_CORNER)
        outline = boundary_local()
        communities = community_polygons(outline)
        cells = {name: split_all([poly], grid_cuts(name)) for name, poly in communities.items()}
        # Give every polygon the vertices its neighbours have on its edges, so
        # that shared edges stay shared after reprojection and rounding.
        nodes = shapely.multipoints(shapely.get_coordinates(
            [c for cs in cells.values() for c in cs]))
        self.outline = shapely.snap(outline, nodes, 0.01)
        self.communities = {n: shapely.snap(p, nodes, 0.01) for n, p in communities.items()}
        self.cells = {n: [shapely.snap(c, nodes, 0.01) for c in cs] for n, cs in cells.items()}
        minx, miny, _, maxy = self.outline.bounds
        frame = box(minx - 60, miny - 60, EAST_REACH, maxy + 60)
        self.road_lines = {n: LineString(line).intersection(frame)
                           for n, (_, _, line) in ROADS.items()}
        self.railway = LineString(RAILWAY).intersection(self.outline.buffer(120))
        self.sites = [s["geom"] for s in PARCELS + PROJECTS + PARKING]
        self._check_sites()
        self.taken = shapely.union_all([s.buffer(5) for s in self.sites]
                                       + [r.buffer(10) for r in self.road_lines.values()]
                                       + [self.railway.buffer(20)])
        self.free = self.outline.buffer(-15).difference(self.taken)
        self.used_names: set[str] = set()

    def _check_sites(self) -> None:
        inner = self.outline.buffer(-2)
        for site in PARCELS + PROJECTS + PARKING:
            assert inner.contains(site["geom"]), f"{site['name']} is not inside the boundary"
            assert len({c for c, poly in self.communities.items()
                        if poly.intersection(site["geom"]).area > 1}) == 1, site["name"]
            if site["name"] in INSIDE_BALIQIAO:
                assert BALIQIAO.contains(site["geom"]), site["name"]
        sites = [s for s in PARCELS + PROJECTS + PARKING if s["name"] not in INSIDE_BALIQIAO]
        sites += [s for s in PARCELS + PROJECTS if s["name"] in INSIDE_BALIQIAO]
        for i, a in enumerate(sites):
            for b in sites[i + 1:]:
                if b["name"] in INSIDE_BALIQIAO and a["geom"] is BALIQIAO:
                    continue
                assert a["geom"].intersection(b["geom"]).area == 0, (a["name"], b["name"])

    def community_of(self, geom: BaseGeometry) -> str:
        point = geom.representative_point()
        return next(name for name, poly in self.communities.items() if poly.covers(point))

    def feature(self, fid: str, local: BaseGeometry, props: dict[str, Any]) -> dict[str, Any]:
        return {"type": "Feature", "id": fid, "properties": props,
                "geometry": to_lonlat_geometry(local, self.origin)}

    def random_points(self, count: int, min_spacing: float) -> list[Point]:
        minx, miny, maxx, maxy = self.free.bounds
        points: list[Point] = []
        while len(points) < count:
            x, y = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            p = Point(round(x, 1), round(y, 1))
            if self.free.contains(p) and all(p.distance(q) >= min_spacing for q in points):
                points.append(p)
        return points

    def random_points_from(self, rng: random.Random, area: BaseGeometry, count: int = 0,
                           min_spacing: float = 0.0) -> Any:
        """`count` points in `area` at least `min_spacing` apart (one point if count is 0)."""
        minx, miny, maxx, maxy = area.bounds
        points: list[Point] = []
        while len(points) < max(count, 1):
            p = Point(round(rng.uniform(minx, maxx), 1), round(rng.uniform(miny, maxy), 1))
            if area.contains(p) and all(p.distance(q) >= min_spacing for q in points):
                points.append(p)
        return points if count else points[0]

    def unique_name(self, kind: str, community: str) -> str:
        while True:
            word = "".join(self.rng.sample(NAME_WORDS, 2))
            suffix = self.rng.choice(SUFFIXES[kind])
            name = f"济南{word}{suffix}" if suffix.endswith("公司") else f"{word}{suffix}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def address(self, point: Point) -> str:
        road = min(ADDRESS_ROADS, key=lambda n: self.road_lines[n].distance(point))
        return f"{road}{self.rng.randrange(1, 400) * 2 + (1 if point.x > COLUMN_X else 0)}号"

    # ------------------------------------------------------------- layers
    def boundary(self) -> list[dict[str, Any]]:
        return [self.feature("boundary", self.outline, {
            "name": "中大槐树街道", "district": "槐荫区", "office": "经四路681号(裕园社区)",
            "neighbours": "东:西市场街道;南:道德街街道;西:营市街街道;北:匡山街道、堤口路街道",
        })]

    def communities_layer(self) -> list[dict[str, Any]]:
        total = sum(HOUSEHOLD_SHARES.values())
        return [self.feature(f"C{i + 1}", poly, {
            "name": name, "code": STREET_DIVISION_CODE + COMMUNITY_CODES[name],
            "households": int(round(HOUSEHOLDS_TOTAL * HOUSEHOLD_SHARES[name] / total, -1)),
            "highlights": COMMUNITY_FACTS[name],
        }) for i, (name, poly) in enumerate(self.communities.items())]

    def grid(self) -> list[dict[str, Any]]:
        out = []
        for community, cells in self.cells.items():
            cells.sort(key=lambda c: (-round(c.centroid.y, -1), c.centroid.x))
            for n, cell in enumerate(cells, start=1):
                code = f"{STREET_DIVISION_CODE}{COMMUNITY_CODES[community]}{n:03d}"
                out.append(self.feature(code, cell, {
                    "code": code, "name": f"{community}第{n}网格", "community": community,
                    "staffing": "1+1+1+N", "volunteers": self.rng.randrange(3, 9),
                }))
        return out

    def roads(self) -> list[dict[str, Any]]:
        out = []
        for i, (name, line) in enumerate(self.road_lines.items(), start=1):
            kind, note, _ = ROADS[name]
            props: dict[str, Any] = {"name": name, "kind": kind}
            if note:
                props["note"] = note
            out.append(self.feature(f"R{i:02d}", line, props))
        out.append(self.feature("R99", self.railway, {
            "name": "铁路", "kind": "铁路", "note": "铁路沿线环境整治600余平方米"}))
        return out

    def site_layer(self, sites: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for site in sites:
            props = {k: v for k, v in site.items() if k not in ("id", "geom")}
            props["community"] = self.community_of(site["geom"])
            out.append(self.feature(site["id"], site["geom"], props))
        return out

    def garbage(self) -> list[dict[str, Any]]:
        points = self.random_points(GARBAGE_POINTS, 35)
        points.sort(key=lambda p: (-p.y, p.x))
        counts = []
        for i in range(GARBAGE_POINTS):
            hazardous = 1 if i % 3 == 0 else 0
            counts.append([self.rng.randint(2, 4), hazardous, self.rng.randint(3, 5),
                           self.rng.randint(3, 5)])
        # Spread the remainder over the residual and kitchen bins to hit the total.
        i = 0
        while (missing := GARBAGE_BINS_TOTAL - sum(map(sum, counts))) != 0:
            counts[i % GARBAGE_POINTS][3 - (i // GARBAGE_POINTS) % 2] += 1 if missing > 0 else -1
            i += 1
        per_community: dict[str, int] = {}
        out = []
        for serial, (point, bins) in enumerate(zip(points, counts, strict=True), start=1):
            community = self.community_of(point)
            per_community[community] = per_community.get(community, 0) + 1
            code = f"370104{COMPONENT_CLASS}{COMPONENT_SUBCLASS}{serial:06d}"
            props: dict[str, Any] = {
                "code": code,
                "name": f"{community.removesuffix('社区')}{per_community[community]}号投放点",
                "community": community,
                "kinds": [k for k, n in zip(GARBAGE_KINDS, bins, strict=True) if n],
                "bins": sum(bins),
            }
            props |= dict(zip(GARBAGE_BIN_FIELDS, bins, strict=True))
            built = dt.date(2022, 3, 1) + dt.timedelta(days=self.rng.randrange(280))
            props["built"] = built.isoformat()
            out.append(self.feature(f"G{serial:03d}", point, props))
        return out

    def venues(self) -> list[dict[str, Any]]:
        kinds = [(NINE_SMALL, k) for k, n in NINE_SMALL_COUNTS.items() for _ in range(n)]
        kinds += [(FIRM, k) for k, n in FIRM_COUNTS.items() for _ in range(n)]
        self.rng.shuffle(kinds)
        points = self.random_points(len(kinds), 12)
        out = []
        for serial, ((category, kind), point) in enumerate(zip(kinds, points, strict=True), 1):
            community = self.community_of(point)
            out.append(self.feature(f"V{serial:04d}", point, {
                "name": self.unique_name(kind, community), "category": category, "kind": kind,
                "address": self.address(point), "community": community, "quancheng_app": True,
                "pledge_signed": kind in PLEDGE_KINDS,
            }))
        return out


# ------------------------------------------------ the rest of the document
# Counts from the document; positions, categories, dates and names illustrative.
HOTLINE_ORDERS = 3176  # 承办12345市民服务热线工单3176, 回复率、办结率、满意率均达到100%
HOTLINE_CATEGORIES = {  # share of the orders (illustrative)
    "市容环境": 22, "物业管理": 20, "噪音扰民": 12, "施工扬尘": 8, "占道经营": 9,
    "停车管理": 10, "供水供暖": 11, "其他": 8,
}
SELF_BUILT = 14  # 排查整治经营性自建房14户
ILLEGAL_REMOVED_M2 = 900  # 拆除违章建筑900余平 (the sites add up to a little more)
RAILWAY_CLEANED_M2 = 600  # 专项整治铁路沿线环境600余平
VENDING_CASES = 40  # 处理占道经营40余人次
SHOPFRONTS = 436  # 门前五包: 签订责任书、张贴公示牌436个
CIVILIZED, PARTY_MODEL = 34, 18  # "文明商户""党员示范商户"50余个 (the split is illustrative)
FIVE_STAR = 103  # "五星级单位"103个
SHOP_WORDS = SUFFIXES["小商店"] + SUFFIXES["小餐饮"] + ["茶庄", "药店", "眼镜店", "花店", "书店"]


class Document:
    """The document's other figures as layers, from their own random stream (so that
    the layers above stay as they were)."""

    def __init__(self, b: Builder) -> None:
        self.b = b
        self.rng = random.Random(SEED + 16)

    def points_near(self, centre: Point, spread: float, area: BaseGeometry) -> Point:
        while True:
            p = Point(round(self.rng.gauss(centre.x, spread), 1),
                      round(self.rng.gauss(centre.y, spread), 1))
            if area.contains(p):
                return p

    def hotline(self) -> list[dict[str, Any]]:
        """Work orders of 2022, gathered where complaints concentrate (illustrative): the
        building site of 三箭和平广场 (dust, noise), the 纬十二路 commercial street, the
        八里桥 market, the old compounds; a fifth spread over the sub-district."""
        inner = self.b.outline.buffer(-5)
        hot = [
            (PROJECTS[0]["geom"].centroid, 70, 0.22, ("施工扬尘", "噪音扰民")),
            (Point(WEI12_X - 40, 330), 90, 0.18, ("占道经营", "停车管理", "市容环境")),
            (BALIQIAO.centroid, 90, 0.14, ("市容环境", "占道经营")),
            (self.b.communities["忠厚街社区"].centroid, 110, 0.13, ("物业管理", "供水供暖")),
            (self.b.communities["嘉瑞社区"].centroid, 130, 0.13, ("物业管理", "供水供暖")),
        ]
        categories = list(HOTLINE_CATEGORIES)
        assert sorted(categories) == sorted(CATALOGUE_HOTLINE_CATEGORIES)
        weights = list(HOTLINE_CATEGORIES.values())
        out = []
        for serial in range(1, HOTLINE_ORDERS + 1):
            r, acc, where = self.rng.random(), 0.0, None
            for centre, spread, share, favoured in hot:
                acc += share
                if r < acc:
                    where = (centre, spread, favoured)
                    break
            if where is None:
                point = self.b.random_points_from(self.rng, inner)
                category = self.rng.choices(categories, weights)[0]
            else:
                point = self.points_near(where[0], where[1], inner)
                category = (self.rng.choice(where[2]) if self.rng.random() < 0.6
                            else self.rng.choices(categories, weights)[0])
            day = dt.date(2022, 1, 1) + dt.timedelta(days=self.rng.randrange(365))
            out.append(self.b.feature(f"H{serial:04d}", point, {
                "name": f"12345工单{serial:04d}", "category": category,
                "community": self.b.community_of(point), "date": day.isoformat(),
                "answered": True, "closed": True, "satisfied": True,
            }))
        out.sort(key=lambda f: (f["properties"]["date"], f["id"]))
        return out

    def self_built(self) -> list[dict[str, Any]]:
        uses = ["餐饮", "住宿", "商铺", "仓储", "加工"]
        points = self.b.random_points_from(self.rng, self.b.free, SELF_BUILT, 40)
        return [self.b.feature(f"Z{n:02d}", p, {
            "name": f"经营性自建房{n}号", "use": self.rng.choice(uses),
            "floors": self.rng.randint(2, 4), "community": self.b.community_of(p),
            "address": self.b.address(p), "result": "已排查整治",
        }) for n, p in enumerate(sorted(points, key=lambda q: (-q.y, q.x)), start=1)]

    def illegal_removed(self) -> list[dict[str, Any]]:
        kinds = ["私搭乱建棚屋", "违规加层", "占道搭建", "楼顶违建"]
        sizes = [110, 95, 60, 130, 75, 85, 120, 70, 90, 80]  # 915 m² in all
        out = []
        taken: list[BaseGeometry] = []
        for n, area in enumerate(sizes, start=1):
            while True:
                c = self.b.random_points_from(self.rng, self.b.free.buffer(-12))
                w = round(area ** 0.5 * self.rng.uniform(0.8, 1.25), 1)
                geom = rect(round(c.x - w / 2, 1), round(c.y - area / w / 2, 1), w, area / w)
                if self.b.free.contains(geom) and not any(geom.distance(t) < 20 for t in taken):
                    break
            taken.append(geom)
            month = self.rng.randint(3, 11)
            out.append(self.b.feature(f"W{n:02d}", geom, {
                "name": f"违建拆除点{n}", "kind": self.rng.choice(kinds),
                "community": self.b.community_of(geom), "removed": f"2022-{month:02d}-15",
            }))
        return out

    def railway_cleanup(self) -> list[dict[str, Any]]:
        """Stretches beside the railway, 6 m wide, inside the sub-district."""
        railway = LineString(RAILWAY)
        inner = self.b.outline.buffer(-10)
        out = []
        for n, (start, length) in enumerate([(200.0, 30.0), (450.0, 25.0), (750.0, 27.0),
                                             (1000.0, 24.0)], start=1):
            piece = shapely.ops.substring(railway, start, start + length)
            strip = piece.buffer(-16, single_sided=True, cap_style="flat").difference(
                piece.buffer(-10, single_sided=True, cap_style="flat"))
            strip = shapely.set_precision(strip, 0.01)
            assert inner.contains(strip), n
            out.append(self.b.feature(f"T{n:02d}", strip, {
                "name": f"铁路沿线整治段{n}", "community": self.b.community_of(strip),
                "work": "清理垃圾杂物、拆除私搭乱建、绿化", "done": "2022",
            }))
        return out

    def vending(self) -> list[dict[str, Any]]:
        spots = [("纬十二路商业街北段", Point(WEI12_X - 30, 250), 9),
                 ("纬十二路商业街南段", Point(WEI12_X - 30, 60), 7),
                 ("八里桥蔬菜市场门前", Point(650, 690), 8),
                 ("张庄路广友茶城门前", Point(300, 670), 5),
                 ("经四路与忠厚街路口", Point(LANE_X + 20, JING_Y["经四路"] + 12), 4),
                 ("经三路裕北段", Point(700, JING_Y["经三路"] + 12), 4),
                 ("昆仑街中段", Point(LANE_X + 14, 500), 3),
                 ("嘉瑞社区北门", Point(700, 1450), 3)]
        assert sum(c for _, _, c in spots) >= VENDING_CASES
        return [self.b.feature(f"S{n:02d}", p, {
            "name": name, "cases": cases, "community": self.b.community_of(p),
            "period": "2022年",
        }) for n, (name, p, cases) in enumerate(spots, start=1)]

    def compounds(self) -> list[dict[str, Any]]:
        """小区: mostly open old compounds (the document: 开放式老旧小区占比重较大), the
        enclosed-compound pilots of 嘉瑞 and 忠厚街, 御景's 红色物业 demonstration, 裕园's
        mixed compound under renovation."""
        plan = [
            ("裕园小区", "裕园社区", "混合式小区", "老旧小区提升改造(2023年)"),
            ("裕园东小区", "裕园社区", "开放式老旧小区", None),
            ("御景小区", "御景社区", "商品房小区", "“一核两翼,多元共治”红色物业示范点"),
            ("御景西院", "御景社区", "开放式老旧小区", None),
            ("昆仑街小区", "昆仑街社区", "开放式老旧小区", None),
            ("昆仑街北院", "昆仑街社区", "开放式老旧小区", None),
            ("裕北小区", "裕北社区", "开放式老旧小区", None),
            ("嘉瑞小区", "嘉瑞社区", "老旧封闭式小区", "红色物业管理新模式试点"),
            ("嘉瑞北院", "嘉瑞社区", "开放式老旧小区", None),
            ("忠厚街小区", "忠厚街社区", "老旧封闭式小区", "红色物业管理新模式试点"),
            ("忠厚街西院", "忠厚街社区", "开放式老旧小区", None),
        ]
        sites = shapely.union_all([s["geom"].buffer(8) for s in PARCELS + PROJECTS + PARKING]
                                  + [r.buffer(12) for r in self.b.road_lines.values()]
                                  + [self.b.railway.buffer(20)])
        out: list[dict[str, Any]] = []
        taken: list[BaseGeometry] = []
        for n, (name, community, kind, model) in enumerate(plan, start=1):
            room = self.b.communities[community].buffer(-12).difference(sites)
            for _ in range(5000):
                c = self.b.random_points_from(self.rng, room)
                w, h = self.rng.choice([(110, 80), (90, 90), (80, 110), (120, 70)])
                geom = rect(round(c.x - w / 2), round(c.y - h / 2), w, h)
                if room.contains(geom) and not any(geom.distance(t) < 15 for t in taken):
                    break
            else:
                raise AssertionError(f"no room for {name}")
            taken.append(geom)
            props: dict[str, Any] = {"name": name, "kind": kind, "community": community,
                                     "red_property_pilot": model is not None
                                     and "红色物业" in model}
            if model:
                props["model"] = model
            out.append(self.b.feature(f"Q{n:02d}", geom, props))
        return out

    def shopfronts(self) -> list[dict[str, Any]]:
        """Shops along the streets that signed the 门前五包 pledge, with the marks the
        document counts (which shop has which mark is illustrative)."""
        streets = shapely.union_all([self.b.road_lines[n] for n in ADDRESS_ROADS]).buffer(22)
        room = streets.intersection(self.b.outline.buffer(-8)).difference(
            shapely.union_all([r.buffer(8) for r in self.b.road_lines.values()]))
        points = self.b.random_points_from(self.rng, room, SHOPFRONTS, 6)
        points.sort(key=lambda p: (-p.y, p.x))
        marks = ["civilized"] * CIVILIZED + ["party_model"] * PARTY_MODEL
        marks += [""] * (SHOPFRONTS - len(marks))
        self.rng.shuffle(marks)
        five_star = set(self.rng.sample(range(SHOPFRONTS), FIVE_STAR))
        out = []
        names: set[str] = set()
        for n, p in enumerate(points):
            while True:
                name = "".join(self.rng.sample(NAME_WORDS, 2)) + self.rng.choice(SHOP_WORDS)
                if name not in names and name not in self.b.used_names:
                    names.add(name)
                    break
            out.append(self.b.feature(f"M{n + 1:03d}", p, {
                "name": name, "address": self.b.address(p), "community": self.b.community_of(p),
                "pledge_signed": True, "civilized": marks[n] == "civilized",
                "party_model": marks[n] == "party_model", "five_star": n in five_star,
            }))
        return out


# ------------------------------------------------------ inspection history
def history(venues: Sequence[dict[str, Any]], rng: random.Random
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Inspections and hazards, consistent with the document's 2022 figures.

    2022: the 九小场所 campaign inspected all 320 of them; the safety sweep
    (大排查) 312 venues, firms included; 182 hazards found and rectified.
    2023 on (illustrative): inspections at each kind's interval; about 30
    venues fell out of the cycle (overdue now); about 20 hazards are open.
    """
    inspections: list[dict[str, Any]] = []
    hazards: list[dict[str, Any]] = []

    def day(start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=rng.randrange((end - start).days + 1))

    def inspect(venue: dict[str, Any], date: dt.date, campaign: str) -> dict[str, Any]:
        row = {"id": f"INS{len(inspections) + 1:06d}", "venue_id": venue["id"],
               "date": date.isoformat(), "inspector": rng.choice(INSPECTORS),
               "campaign": campaign, "result": "合格", "note": ""}
        inspections.append(row)
        return row

    def hazard(row: dict[str, Any], status: str, rectified: dt.date | None) -> None:
        category = rng.choice(list(HAZARD_TEXT))
        found = dt.date.fromisoformat(row["date"])
        row["result"] = "发现隐患"
        hazards.append({
            "id": f"HZ{len(hazards) + 1:05d}", "venue_id": row["venue_id"],
            "inspection_id": row["id"], "category": category,
            "description": rng.choice(HAZARD_TEXT[category]), "found": found.isoformat(),
            "deadline": (found + dt.timedelta(days=rng.choice([7, 15, 30]))).isoformat(),
            "status": status, "rectified": rectified.isoformat() if rectified else "",
        })

    nine_small = [v for v in venues if v["properties"]["category"] == NINE_SMALL]
    firms = [v for v in venues if v["properties"]["category"] == FIRM]
    # 2022: the 九小 campaign, then the sweep (all firms and 279 九小场所).
    rows_2022 = [inspect(v, day(dt.date(2022, 3, 1), dt.date(2022, 6, 30)), "九小场所专项检查")
                 for v in nine_small]
    sweep = firms + rng.sample(nine_small, 312 - len(firms))
    rows_2022 += [inspect(v, day(dt.date(2022, 7, 1), dt.date(2022, 11, 30)), "安全生产大排查")
                  for v in sweep]
    with_hazards = rng.sample(rows_2022, 160)  # 22 of them with two hazards: 182
    for i, row in enumerate(with_hazards):
        for _ in range(2 if i < 22 else 1):
            found = dt.date.fromisoformat(row["date"])
            hazard(row, "已整改", found + dt.timedelta(days=rng.randrange(3, 25)))

    # 2023 to today.
    stale = {v["id"] for v in rng.sample(list(venues), 30)}
    open_now = set(rng.sample([v["id"] for v in venues if v["id"] not in stale], 20))
    for venue in venues:
        interval = interval_days(venue["properties"]["kind"])
        if venue["id"] in stale:  # last seen in 2023 or 2024, overdue since
            last = day(dt.date(2023, 1, 10), TODAY - dt.timedelta(days=interval + 30))
            last = min(last, dt.date(2024, 12, 20))
        elif venue["id"] in open_now:
            last = TODAY - dt.timedelta(days=rng.randrange(2, 40))
        else:
            last = TODAY - dt.timedelta(days=rng.randrange(1, int(interval * 0.95)))
        dates = [last]
        while (earlier := dates[-1] - dt.timedelta(days=interval + rng.randrange(-10, 10))) \
                > dt.date(2023, 1, 5):
            dates.append(earlier)
        for date in reversed(dates):
            row = inspect(venue, date, "日常巡查")
            if venue["id"] in open_now and date == last:
                hazard(row, rng.choice(["立案", "整改中"]), None)
            elif rng.random() < 0.06:
                fixed = date + dt.timedelta(days=rng.randrange(3, 30))
                if fixed < TODAY:
                    hazard(row, "已整改", fixed)
    inspections.sort(key=lambda r: (r["date"], r["venue_id"]))
    return inspections, hazards


# ------------------------------------------------------------------ writing
def write_geojson(path: Path, name: str, features: list[dict[str, Any]]) -> None:
    collection = {"type": "FeatureCollection", "name": name, "features": features}
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    # One feature per line: small, and diffs stay readable.
    text = text.replace(',{"type":"Feature"', ',\n{"type":"Feature"')
    path.write_text(text + "\n", encoding="utf-8")


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(out_dir: Path) -> None:
    b = Builder()
    venues = b.venues()
    layers = {
        "boundary": b.boundary(), "communities": b.communities_layer(), "grid": b.grid(),
        "roads": b.roads(), "parking": b.site_layer(PARKING), "garbage": b.garbage(),
        "projects": b.site_layer(PROJECTS), "parcels": b.site_layer(PARCELS),
        "venues": venues,
    }
    doc = Document(b)
    layers |= {
        "hotline": doc.hotline(), "selfbuilt": doc.self_built(),
        "illegal_removed": doc.illegal_removed(), "railway_cleanup": doc.railway_cleanup(),
        "vending": doc.vending(), "compounds": doc.compounds(), "shopfronts": doc.shopfronts(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, features in layers.items():
        write_geojson(out_dir / f"{name}.geojson", name, features)
    inspections, hazards = history(venues, random.Random(SEED + 1))
    write_csv(out_dir / "inspections.csv", inspections)
    write_csv(out_dir / "hazards.csv", hazards)
    print(f"wrote {len(layers)} layers, {len(inspections)} inspections and "
          f"{len(hazards)} hazards to {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
