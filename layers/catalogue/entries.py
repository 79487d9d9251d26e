"""The layer catalogue: every layer of the sub-district declared once.

Pages, the API, loading/validation, the legend and the docs all read this list.
Adding a layer means adding one `Layer(...)` entry here and its GeoJSON file in
geodata/, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FieldType = Literal["str", "int", "float", "bool", "date", "list"]
GeometryType = Literal["Point", "LineString", "Polygon"]

ROLES = ("viewer", "inspector", "leader", "admin")
ALL_ROLES = frozenset(ROLES)

COMMUNITIES = ("裕园社区", "御景社区", "昆仑街社区", "裕北社区", "嘉瑞社区", "忠厚街社区")

GARBAGE_KINDS = ("可回收物", "有害垃圾", "厨余垃圾", "其他垃圾")
# Per-kind bin counts of a garbage point, in the order of GARBAGE_KINDS.
GARBAGE_BIN_FIELDS = ("bins_recyclable", "bins_hazardous", "bins_kitchen", "bins_residual")

NINE_SMALL_KINDS = (
    "小学校或幼儿园",
    "小医院",
    "小商店",
    "小餐饮",
    "小旅馆",
    "小歌舞娱乐",
    "小网吧",
    "小美容洗浴",
    "小生产加工企业",
)
NINE_SMALL = "九小场所"
FIRM = "企业"
FIRM_KINDS = ("商贸企业", "工贸企业", "物流仓储企业", "建筑施工企业")

PARCEL_STATUSES = ("闲置", "规划中", "在建", "已利用")
PROJECT_STATUSES = ("在建", "筹备开业", "规划中", "运营中", "程序化解")
HOTLINE_CATEGORIES = ("市容环境", "物业管理", "噪音扰民", "施工扬尘", "占道经营", "停车管理",
                      "供水供暖", "其他")
COMPOUND_KINDS = ("开放式老旧小区", "老旧封闭式小区", "混合式小区", "商品房小区")
PROJECT_CATEGORIES = ("重点项目", "医疗养老", "商业", "文化", "便民设施", "风险点")

# Geometry must fall inside this lon/lat box (Jinan and a margin); it catches
# swapped axes and projected coordinates written as if they were degrees.
JINAN_BOUNDS = (116.2, 36.0, 117.8, 37.6)


@dataclass(frozen=True)
class Field:
    """One property of a layer's features."""

    name: str
    label: str  # Chinese label shown in popups, tables and exports
    type: FieldType = "str"
    required: bool = True
    choices: tuple[str, ...] = ()  # allowed values (each item, for "list")
    unit: str = ""
    minimum: float | None = None
    pattern: str | None = None  # regular expression a "str" must match fully
    max_length: int = 500


@dataclass(frozen=True)
class Style:
    """How a layer is drawn by default (map pages refine it by category)."""

    color: str
    fill_color: str | None = None
    weight: float = 2
    fill_opacity: float = 0.3
    radius: float = 6  # circle markers of point layers, in pixels
    dash_array: str | None = None


# A cross-field rule: takes a feature's properties, returns a problem or None.
Check = Callable[[Mapping[str, Any]], "str | None"]


@dataclass(frozen=True)
class Layer:
    name: str  # public API name
    title: str  # Chinese title
    group: str  # layer-control group (管理单元, 设施, 项目与土地, 安全, 底图)
    geometry: GeometryType  # Polygon admits MultiPolygon, LineString MultiLineString
    fields: tuple[Field, ...]
    style: Style
    popup: tuple[str, ...]  # field names shown in a popup, in order
    tooltip: str = "name"
    description: str = ""
    inside_boundary: bool = True  # features must lie inside the sub-district
    roles: frozenset[str] = ALL_ROLES  # roles that may see the layer
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def file_name(self) -> str:
        return f"{self.name}.geojson"

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def label(self, name: str) -> str:
        """Chinese label of a field or of a measure the store adds."""
        for f in self.fields:
            if f.name == name:
                return f.label
        return MEASURE_LABELS.get(name, name)


# Measures the store adds to every feature it serves (computed in EPSG:4548).
MEASURE_LABELS = {"area_m2": "面积(平方米)", "area_mu": "面积(亩)", "length_m": "长度(米)"}


def _name(label: str = "名称") -> Field:
    return Field("name", label, max_length=100)


def _community() -> Field:
    return Field("community", "所属社区", choices=COMMUNITIES)


def _note() -> Field:
    return Field("note", "备注", required=False)


def _garbage_bins_add_up(p: Mapping[str, Any]) -> str | None:
    counts = [p.get(f) for f in GARBAGE_BIN_FIELDS]
    if not all(isinstance(c, int) for c in counts):
        return None  # type errors are reported per field
    if p.get("bins") != sum(counts):  # type: ignore[arg-type]
        total = sum(counts)  # type: ignore[arg-type]
        return (f"各类垃圾桶数之和为 {total},与垃圾桶总数 {p.get('bins')} 不符 "
                f"(bins={p.get('bins')} but the per-kind counts add up to {total})")
    taken = [k for k, c in zip(GARBAGE_KINDS, counts, strict=True) if c]
    if isinstance(p.get("kinds"), list) and sorted(p["kinds"]) != sorted(taken):
        return (f"垃圾分类 {'、'.join(map(str, p['kinds']))} 与有垃圾桶的分类 "
                f"{'、'.join(taken)} 不符 (kinds {p['kinds']} do not match the kinds with "
                f"bins {taken})")
    return None


def _venue_kind_matches_category(p: Mapping[str, Any]) -> str | None:
    category, kind = p.get("category"), p.get("kind")
    if category == NINE_SMALL and kind not in NINE_SMALL_KINDS:
        return (f"九小场所的场所类型须为九类之一,而不是 {kind!r} (a 九小场所 must have one of "
                f"the nine kinds, not {kind!r})")
    if category == FIRM and kind not in FIRM_KINDS:
        return (f"企业的场所类型须为 {'、'.join(FIRM_KINDS)} 之一,而不是 {kind!r} (a firm (企业) "
                f"must have one of {', '.join(FIRM_KINDS)}, not {kind!r})")
    return None


CATALOGUE: tuple[Layer, ...] = (
    Layer(
        name="boundary",
        title="街道辖区",
        group="管理单元",
        geometry="Polygon",
        description="中大槐树街道辖区范围(示意,约1.64平方公里)",
        inside_boundary=False,
        fields=(
            _name(),
            Field("district", "所属区", choices=("槐荫区",)),
            Field("office", "街道办事处地址"),
            Field("neighbours", "四邻"),
        ),
        style=Style(color="#c0392b", weight=3, fill_opacity=0.0, dash_array="8 4"),
        popup=("name", "district", "office", "neighbours", "area_m2"),
    ),
    Layer(
        name="communities",
        title="社区",
        group="管理单元",
        geometry="Polygon",
        description="街道下辖六个社区,无缝覆盖辖区(界线为示意)",
        fields=(
            Field("name", "社区名称", choices=COMMUNITIES),
            Field("code", "社区代码", required=False, pattern=r"370104002\d{3}"),
            Field("households", "户数(示意)", type="int", minimum=0),
            Field("highlights", "工作亮点", required=False),
        ),
        style=Style(color="#2c3e50", fill_color="#95a5a6", weight=2, fill_opacity=0.08),
        popup=("name", "code", "highlights", "households", "area_m2"),
    ),
    Layer(
        name="grid",
        title="网格",
        group="管理单元",
        geometry="Polygon",
        description="按“1+1+1+N”原则划分的网格(划分与兼职力量人数为示意)",
        fields=(
            # GB/T 30428.1: county 370104 + street 002 (中大槐树街道) + community 3 + cell 3.
            Field("code", "网格编码", pattern=r"370104002\d{3}\d{3}"),
            _name("网格名称"),
            _community(),
            Field("staffing", "力量配置", choices=("1+1+1+N",)),
            Field("volunteers", "兼职力量N(人,示意)", type="int", minimum=0),
        ),
        style=Style(color="#7f8c8d", weight=1, fill_opacity=0.0, dash_array="3 3"),
        popup=("name", "code", "community", "staffing", "volunteers", "area_m2"),
    ),
    Layer(
        name="roads",
        title="道路与铁路",
        group="底图",
        geometry="LineString",
        description="经纬路网与铁路,无底图时作为底图",
        inside_boundary=False,
        fields=(
            _name("道路名称"),
            Field("kind", "类型", choices=("主干路", "次干路", "支路", "铁路")),
            _note(),
        ),
        style=Style(color="#555555", weight=4, fill_opacity=0.0),
        popup=("name", "kind", "note", "length_m"),
    ),
    Layer(
        name="parking",
        title="停车场",
        group="设施",
        geometry="Polygon",
        description="经一纬十二共享停车场9000平方米(见工作总结);其余停车场与各场泊位数为示意",
        fields=(
            _name("停车场名称"),
            Field("kind", "类型", choices=("共享停车场", "公共停车场", "小区停车场")),
            Field("spaces", "泊位(个,示意)", type="int", minimum=0, unit="个"),
            Field("operator", "运营单位"),
            Field("smart_platform", "接入智慧停车平台", type="bool"),
            _community(),
            _note(),
        ),
        style=Style(color="#2471a3", fill_color="#5dade2", fill_opacity=0.5),
        popup=("name", "kind", "spaces", "operator", "smart_platform", "community", "note",
               "area_m2", "area_mu"),
    ),
    Layer(
        name="garbage",
        title="垃圾投放点",
        group="设施",
        geometry="Point",
        description="2022年新建垃圾分类投放点100余处、配备垃圾桶1300余个,四分类"
                    "(总数见工作总结;位置、各点桶数与建成日期为示意)",
        fields=(
            # GB/T 30428.2: county 370104 + class 03 市容环境 + subclass 05 垃圾箱 + serial 6.
            Field("code", "部件编码", pattern=r"3701040305\d{6}"),
            _name("投放点名称"),
            _community(),
            Field("kinds", "投放类别", type="list", choices=GARBAGE_KINDS),
            Field("bins", "垃圾桶(个,示意)", type="int", minimum=0, unit="个"),
            Field("bins_recyclable", "可回收物桶(示意)", type="int", minimum=0, unit="个"),
            Field("bins_hazardous", "有害垃圾桶(示意)", type="int", minimum=0, unit="个"),
            Field("bins_kitchen", "厨余垃圾桶(示意)", type="int", minimum=0, unit="个"),
            Field("bins_residual", "其他垃圾桶(示意)", type="int", minimum=0, unit="个"),
            Field("built", "建成日期(示意)", type="date"),
        ),
        style=Style(color="#1e8449", fill_color="#58d68d", radius=5, fill_opacity=0.9),
        popup=("name", "code", "community", "kinds", "bins", "bins_recyclable",
               "bins_hazardous", "bins_kitchen", "bins_residual", "built"),
        checks=(_garbage_bins_add_up,),
    ),
    Layer(
        name="projects",
        title="项目与场所",
        group="项目与土地",
        geometry="Polygon",
        description="重点项目、商业与文化场所、规划便民设施",
        fields=(
            _name("项目名称"),
            Field("category", "类别", choices=PROJECT_CATEGORIES),
            Field("status", "状态", choices=PROJECT_STATUSES),
            _community(),
            Field("description", "概况"),
            Field("investment_plan_wan", "计划总投资(万元)", type="float", required=False,
                  minimum=0, unit="万元"),
            Field("investment_2022_wan", "2022年完成投资(万元)", type="float", required=False,
                  minimum=0, unit="万元"),
            Field("investment_to_date_wan", "累计完成投资(万元)", type="float", required=False,
                  minimum=0, unit="万元"),
            Field("expected_completion", "预计建成", required=False, pattern=r"\d{4}"),
            Field("partner", "合作方", required=False),
            Field("last_update", "更新日期(示意)", type="date", required=False),
            Field("from_document", "见于2022年工作总结", type="bool"),
            _note(),
        ),
        style=Style(color="#8e44ad", fill_color="#bb8fce", fill_opacity=0.45),
        popup=("name", "category", "status", "description", "investment_plan_wan",
               "investment_2022_wan", "investment_to_date_wan", "expected_completion",
               "partner", "community", "last_update", "note", "area_m2", "area_mu"),
    ),
    Layer(
        name="parcels",
        title="土地地块",
        group="项目与土地",
        geometry="Polygon",
        description="闲置及待盘活土地(地块见工作总结,另有两块示意地块;权属、用途、闲置年限、"
                    "更新日期为示意)",
        fields=(
            _name("地块名称"),
            Field("status", "状态", choices=PARCEL_STATUSES),
            Field("owner", "权属单位"),
            Field("planned_use", "规划用途"),
            Field("years_idle", "闲置年限(年,示意)", type="int", minimum=0, unit="年"),
            Field("last_update", "更新日期(示意)", type="date"),
            _community(),
            Field("part_of", "所属片区", required=False),
            Field("from_document", "见于2022年工作总结", type="bool"),
            _note(),
        ),
        style=Style(color="#ca6f1e", fill_color="#f5b041", fill_opacity=0.45),
        popup=("name", "status", "owner", "planned_use", "years_idle", "last_update",
               "community", "part_of", "note", "area_m2", "area_mu"),
    ),
    Layer(
        name="venues",
        title="安全监管场所",
        group="安全",
        geometry="Point",
        description="“泉城安全”监管的场所与企业,含九小场所(名称、地址、位置为示意)",
        fields=(
            _name("场所名称"),
            Field("category", "类别", choices=(NINE_SMALL, FIRM)),
            Field("kind", "场所类型", choices=NINE_SMALL_KINDS + FIRM_KINDS),
            Field("address", "地址"),
            _community(),
            Field("quancheng_app", "纳入“泉城安全”监管", type="bool"),
            Field("pledge_signed", "签订门前五包责任书", type="bool"),
            # Closed (已停业) from this day; absent: open (营业). A closed venue stays in
            # the layer (its records stay) but is due for no inspection (records.inspections).
            Field("closed_on", "停业日期", type="date", required=False),
        ),
        style=Style(color="#b03a2e", fill_color="#ec7063", radius=5, fill_opacity=0.9),
        popup=("name", "category", "kind", "address", "community", "quancheng_app",
               "pledge_signed", "closed_on"),
        checks=(_venue_kind_matches_category,),
    ),
    # --- the rest of the 2022 work summary: counts from it, positions illustrative ---
    Layer(
        name="hotline",
        title="12345工单",
        group="城市治理",
        geometry="Point",
        description="2022年承办12345市民服务热线工单3176件,回复率、办结率、满意率均达到100%"
                    "(件数见工作总结;位置、类别、日期为示意)",
        fields=(
            _name("工单"),
            Field("category", "诉求类别(示意)", choices=HOTLINE_CATEGORIES),
            _community(),
            Field("date", "受理日期(示意)", type="date"),
            Field("answered", "已回复", type="bool"),
            Field("closed", "已办结", type="bool"),
            Field("satisfied", "满意", type="bool"),
        ),
        style=Style(color="#b9770e", fill_color="#f5b041", radius=3, fill_opacity=0.6),
        popup=("name", "category", "community", "date", "answered", "closed", "satisfied"),
        tooltip="category",
    ),
    Layer(
        name="selfbuilt",
        title="经营性自建房",
        group="城市治理",
        geometry="Point",
        description="2022年排查整治经营性自建房14户(户数见工作总结;位置与用途为示意)",
        fields=(
            _name("名称"),
            Field("use", "经营用途(示意)", choices=("餐饮", "住宿", "商铺", "仓储", "加工")),
            Field("floors", "层数(示意)", type="int", minimum=1, unit="层"),
            _community(),
            Field("address", "地址(示意)"),
            Field("result", "排查结果", choices=("已排查整治",)),
        ),
        style=Style(color="#6e2c00", fill_color="#dc7633", radius=6, fill_opacity=0.9),
        popup=("name", "use", "floors", "address", "community", "result"),
    ),
    Layer(
        name="illegal_removed",
        title="违建拆除点",
        group="城市治理",
        geometry="Polygon",
        description="2022年拆除违章建筑900余平方米(面积见工作总结;位置与分布为示意)",
        fields=(
            _name("名称"),
            Field("kind", "类型(示意)",
                  choices=("私搭乱建棚屋", "违规加层", "占道搭建", "楼顶违建")),
            _community(),
            Field("removed", "拆除日期(示意)", type="date"),
        ),
        style=Style(color="#922b21", fill_color="#e6b0aa", fill_opacity=0.6, dash_array="4 2"),
        popup=("name", "kind", "community", "removed", "area_m2"),
    ),
    Layer(
        name="railway_cleanup",
        title="铁路沿线整治段",
        group="城市治理",
        geometry="Polygon",
        description="2022年专项整治铁路沿线环境600余平方米(面积见工作总结;位置为示意)",
        fields=(
            _name("名称"),
            _community(),
            Field("work", "整治内容(示意)"),
            Field("done", "完成年份", pattern=r"\d{4}"),
        ),
        style=Style(color="#1d8348", fill_color="#82e0aa", fill_opacity=0.7),
        popup=("name", "community", "work", "done", "area_m2"),
    ),
    Layer(
        name="vending",
        title="占道经营热点",
        group="城市治理",
        geometry="Point",
        description="2022年处理占道经营40余人次(人次见工作总结;热点位置与分布为示意)",
        fields=(
            _name("热点"),
            Field("cases", "处理人次(示意)", type="int", minimum=0, unit="人次"),
            _community(),
            Field("period", "时段"),
        ),
        style=Style(color="#7d6608", fill_color="#f4d03f", radius=7, fill_opacity=0.9),
        popup=("name", "cases", "community", "period"),
    ),
    Layer(
        name="compounds",
        title="小区",
        group="管理单元",
        geometry="Polygon",
        description="居民小区:开放式老旧小区、老旧封闭式小区红色物业试点(嘉瑞、忠厚街)、"
                    "御景红色物业示范点(类型与试点见工作总结;名称、范围为示意)",
        fields=(
            _name("小区名称(示意)"),
            Field("kind", "类型", choices=COMPOUND_KINDS),
            _community(),
            Field("red_property_pilot", "红色物业试点/示范", type="bool"),
            Field("model", "治理模式", required=False),
        ),
        style=Style(color="#5b2c6f", fill_color="#d7bde2", fill_opacity=0.25, weight=1.5),
        popup=("name", "kind", "community", "red_property_pilot", "model", "area_m2"),
    ),
    Layer(
        name="shopfronts",
        title="门前五包商户",
        group="城市治理",
        geometry="Point",
        description="门前五包责任书与公示牌436个;“文明商户”“党员示范商户”50余个,“五星级单位”103个"
                    "(数量见工作总结;商户名称、位置与各自称号为示意)",
        fields=(
            _name("商户名称(示意)"),
            Field("address", "地址(示意)"),
            _community(),
            Field("pledge_signed", "签订门前五包责任书", type="bool"),
            Field("civilized", "文明商户(示意)", type="bool"),
            Field("party_model", "党员示范商户(示意)", type="bool"),
            Field("five_star", "五星级单位(示意)", type="bool"),
        ),
        style=Style(color="#1a5276", fill_color="#5dade2", radius=3, fill_opacity=0.8),
        popup=("name", "address", "community", "civilized", "party_model", "five_star"),
    ),
)

_BY_NAME = {layer.name: layer for layer in CATALOGUE}


def get_layer(name: str) -> Layer:
    """The layer called `name`; KeyError if there is none."""
    return _BY_NAME[name]


def layer_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


# -- who may use which pages and routes --------------------------------------------------
# Layers say which roles may see them (`Layer.roles`); pages and API routes are
# declared here by Flask endpoint, in groups. layers/accounts/access.py enforces both on
# every request; tests/test_access.py tries every route as every role and fails
# on a route that no group declares. The role admin may use everything.

ANONYMOUS = "anonymous"  # not logged in: also gets the rights of ANONYMOUS_ROLE (config)
EVERYONE = frozenset({ANONYMOUS, *ROLES})  # even when ANONYMOUS_ROLE gives no role


@dataclass(frozen=True)
class RouteGroup:
    name: str
    title: str  # Chinese, shown on the 403 page
    roles: frozenset[str]
    endpoints: tuple[str, ...]  # Flask endpoints; "blueprint.*": all of a blueprint's


ROUTE_GROUPS: tuple[RouteGroup, ...] = (
    RouteGroup("login", "登录", EVERYONE, ("static", "auth.*", "health.*")),
    RouteGroup("help", "使用帮助", EVERYONE, ("help.*",)),
    RouteGroup("maps", "地图与数据服务", ALL_ROLES,
               ("pages.*", "api.*", "analysis.*", "ogc.*", "basemaps.*")),
    RouteGroup("inspect", "巡查查询", ALL_ROLES,
               ("inspect.inspect_page", "inspect.api_nearby", "inspect.api_locate",
                "inspect.api_overdue", "inspect.api_venue_history",
                "inspect.service_worker")),
    # Photos of records: the users who work with records; never visitors (nor viewers).
    RouteGroup("photos", "查看巡查照片", frozenset({"inspector", "leader", "admin"}),
               ("photos.*",)),
    RouteGroup("inspect_write", "记录检查", frozenset({"inspector", "admin"}),
               ("inspect.api_record_inspection", "inspect.api_record_recheck",
                "inspect.api_hazard_status", "inspect.api_correct_inspection")),
    # Venues found, closed, reopened or moved in the street (inspectors/venue_edits.py).
    RouteGroup("venue_field_edit", "新增场所、标记停业、恢复营业、更正位置",
               frozenset({"inspector", "leader", "admin"}),
               ("inspect.api_add_venue", "inspect.api_close_venue", "inspect.api_reopen_venue",
                "inspect.api_move_venue")),
    RouteGroup("review", "闲置土地、重点项目与年度指标", frozenset({"leader", "admin"}),
               ("review.*",)),
    RouteGroup("admin", "账号、审计与图层数据", frozenset({"admin"}), ("admin.*", "layer_admin.*")),
    RouteGroup("layer_edit", "编辑图层要素", frozenset({"admin"}),
               ("ogc.create_item", "ogc.replace_item", "ogc.update_item", "ogc.delete_item")),
)

# POST routes that only read (their geometry is too large for a query string):
# they change nothing, so they need no CSRF token. Every other POST, PUT, PATCH
# and DELETE does.
READ_ONLY_POSTS = ("analysis.summary_of_area", "analysis.measure")
