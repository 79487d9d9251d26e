"""What the guide holds, without Flask: its parts and sections, the section that explains
each page route, and the screenshots the test suite makes of the running application.

tests/help/test_help.py fails when a page route (a GET route answering HTML) has no
section here, when a section named here is not in the guide, or when a screenshot is
missing or older than the templates and scripts it shows (static/help/manifest.json).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOTS_DIR = ROOT / "static" / "help"
MANIFEST = SHOTS_DIR / "manifest.json"
REGENERATE = "make help-shots"

# The parts of the guide, in order: (id, title, the roles it is written for).
PARTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("start", "开始使用", ()),
    ("map", "规划/城管:一张图", ("viewer",)),
    ("inspect", "网格员/安监员:巡查", ("inspector",)),
    ("leader", "领导:闲置土地、重点项目与年度指标", ("leader",)),
    ("admin", "管理员:账号、图层数据与运维", ("admin",)),
)

# Every page route's section of the guide (endpoint -> section id).
PAGE_HELP: dict[str, str] = {
    "help.guide": "start",
    "auth.login": "login",
    "pages.index": "map-layers",
    "pages.print_view": "map-export",
    "inspect.inspect_page": "inspect-locate",
    "review.sites_page": "review-sites",
    "review.brief_page": "review-brief",
    "review.dashboard": "review-dashboard",
    "admin.users_page": "admin-users",
    "admin.audit_page": "admin-audit",
    "layer_admin.layers_page": "admin-import",
    "layer_admin.versions_page": "admin-versions",
    "ogc.landing": "data-service",
    "ogc.conformance": "data-service",
    "ogc.collections": "data-service",
    "ogc.collection": "data-service",
    "ogc.items": "data-service",
    "ogc.item": "data-service",
    "ogc.api": "data-service",
    "ogc.tile_matrix_sets": "data-service",
    "ogc.tile_matrix_set": "data-service",
    "ogc.tilesets": "data-service",
    "ogc.tileset": "data-service",
}

DESKTOP = (1440, 900)
PHONE = (390, 844)


@dataclass(frozen=True)
class Shot:
    """A screenshot of the running application: static/help/<name>.png."""

    name: str
    path: str  # the URL path opened (with its query and fragment)
    role: str | None  # logged in as a user of this role; None: a visitor
    files: tuple[str, ...]  # the templates, scripts and styles it shows (project paths)
    viewport: tuple[int, int] = DESKTOP
    ready: str = "() => document.readyState === 'complete'"  # the page's script is done
    # What a person does first, in order: ("select", selector, value), ("click", selector, ""),
    # ("map", "", "x,y": a click on the map at those pixels), ("file", selector, "name|text").
    actions: tuple[tuple[str, str, str], ...] = field(default=())
    wait_for: str = "body"  # a CSS selector visible once the page shows what is meant
    scroll_to: str | None = None  # an element to scroll into view before the screenshot


_BASE = ("templates/base.html", "templates/nav.html", "templates/help/_link.html",
         "static/css/app.css", "static/js/common.js")
# What every folium map page loads (layers/planners/maps.py, layers/review/maps.py).
_LEAFLET = ("static/css/map.css", "static/css/map-labels.css", "static/js/huaishu-map.js",
            "static/js/map-labels.js")
_MAP = (*_BASE, *_LEAFLET, "templates/planners/map.html", "static/js/map-panel.js",
        "static/js/map-overlays.js", "static/js/map-clusters.js")
_MAP_READY = "() => document.body.dataset.panelReady === 'true'"
_INSPECT = (*_BASE, "templates/inspectors/inspect.html", "static/js/inspect.js",
            "static/css/inspect.css", "static/css/map-labels.css", "static/js/map-labels.js",
            "static/js/inspect-labels.js", "static/js/basemap-fallback.js")
_INSPECT_READY = "() => document.body.dataset.ready === 'true'"
_SITES = (*_BASE, *_LEAFLET, "templates/review/sites.html", "static/js/review-sites.js",
          "static/css/review.css")
_ADMIN = (*_BASE, "static/css/admin.css")
# A point in 裕园社区 with venues around it (lon, lat, WGS84).
_HERE = "lon=116.964&lat=36.662&crs=wgs84"

# A contractor's spreadsheet with the mistakes the guide explains (admin-problems).
_BAD_CSV = ("编号,名称,经度,纬度,电话\nG900,裕园小区东门,36.6650,116.9610,88886666\n"
            "G900,裕园小区西门,116.9590,36.6648,\n")

SHOTS: tuple[Shot, ...] = (
    Shot("map-overview", "/", None, _MAP, ready=_MAP_READY),
    Shot("map-community", "/", None, _MAP, ready=_MAP_READY,
         actions=(("select", "#community-filter", "裕园社区"),),
         wait_for="#summary[data-ready=true]", scroll_to="#summary"),
    Shot("map-draw", "/", None, _MAP, ready=_MAP_READY,
         actions=(("click", "[data-tool=rectangle]", ""), ("map", "", "420,300"),
                  ("map", "", "700,560")),
         wait_for="#summary[data-ready=true]", scroll_to="#summary"),
    Shot("map-print", "/print?title=裕园社区安全监管场所&community=裕园社区"
         "&layers=communities,grid,roads,venues", None,
         ("templates/planners/print.html", "static/css/app.css", "static/js/common.js",
          *_LEAFLET, "static/js/map-print.js", "static/js/map-overlays.js"),
         ready="() => document.body.dataset.printReady === 'true'"),
    Shot("map-thematic", "/", None, _MAP, ready=_MAP_READY,
         actions=(("select", "#choropleth-indicator", "venues"),), wait_for="#thematic-table table",
         scroll_to="#thematic-table"),
    Shot("inspect-nearby", f"/inspect?{_HERE}", "inspector", _INSPECT, PHONE,
         ready=_INSPECT_READY, wait_for="#results li"),
    Shot("inspect-venue", f"/inspect?{_HERE}&venue=V0306", "inspector", _INSPECT, PHONE,
         ready=_INSPECT_READY, wait_for="#detail-hazards li"),
    Shot("inspect-recheck", "/inspect?venue=V0010", "inspector", _INSPECT, PHONE,
         ready=_INSPECT_READY, wait_for="#recheck-form:not([hidden])",
         scroll_to="#recheck-form"),
    Shot("inspect-late", "/inspect?list=late", "inspector", _INSPECT, PHONE,
         ready=_INSPECT_READY, wait_for="#late li"),
    Shot("review-parcels", "/parcels#P01", "leader", _SITES,
         ready="() => document.body.dataset.reviewReady === 'true'", wait_for="#sr-households"),
    Shot("review-brief", "/parcels/P01/brief", "leader",
         (*_BASE, "templates/review/brief.html", "templates/review/brief_map.html",
          "static/css/brief.css"), wait_for="svg"),
    Shot("review-dashboard", "/dashboard", "leader",
         (*_BASE, "templates/review/dashboard.html", "static/js/dashboard.js",
          "static/js/dashboard-records.js", "static/js/dashboard-hotline.js",
          "static/css/review.css", "static/css/dashboard.css"),
         ready="() => window.HuaishuDashboard && window.HuaishuDashboard.ready === true",
         wait_for="#db-cards > *"),
    Shot("data-service", "/ogc/collections/venues/items?limit=20", None,
         (*_BASE, *_LEAFLET, "templates/ogc/_layout.html", "templates/ogc/_map.html",
          "templates/ogc/items.html", "static/css/ogc.css", "static/js/ogc-map.js"),
         wait_for=".ogc-table"),
    Shot("login", "/login", None, (*_BASE, "templates/accounts/login.html",
                                   "static/css/inspect.css"), PHONE, wait_for="form"),
    Shot("admin-users", "/admin/users", "admin", (*_ADMIN, "templates/accounts/users.html"),
         wait_for="#users"),
    Shot("admin-layers", "/admin/layers", "admin", (*_ADMIN, "templates/data/layers.html"),
         wait_for="#import-form"),
    Shot("admin-problems", "/admin/layers", "admin", (*_ADMIN, "templates/data/layers.html"),
         actions=(("select", "#import-form select[name=layer]", "garbage"),
                  ("select", "#import-form select[name=crs]", "wgs84"),
                  ("file", "#import-form input[name=file]", "投放点.csv|" + _BAD_CSV),
                  ("click", "#import-form button[value=validate]", "")),
         wait_for="#problems", scroll_to="#import-report"),
    Shot("admin-versions", "/admin/layers/venues/versions", "admin",
         (*_ADMIN, "templates/data/versions.html"), wait_for="#versions"),
    Shot("admin-audit", "/admin/audit", "admin", (*_ADMIN, "templates/accounts/audit.html"),
         wait_for="#audit"),
)
SHOTS_BY_NAME = {shot.name: shot for shot in SHOTS}


def fingerprint(shot: Shot, root: Path = ROOT) -> str:
    """A hash of what a screenshot shows: its templates, scripts and styles (git keeps no
    modification times, so a date could not tell a stale screenshot)."""
    digest = hashlib.sha256()
    for name in sorted(shot.files):
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"")
                      + b"\0")
    return digest.hexdigest()


def read_manifest(path: Path = MANIFEST) -> dict[str, dict[str, object]]:
    if not path.exists():
        return {}
    shots: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["shots"]
    return shots


def stale_shots(root: Path = ROOT, shots_dir: Path = SHOTS_DIR) -> list[str]:
    """What is wrong with the screenshots, one line each (empty: all current)."""
    manifest = read_manifest(shots_dir / "manifest.json")
    problems = []
    for shot in SHOTS:
        png = shots_dir / f"{shot.name}.png"
        gone = [name for name in shot.files if not (root / name).exists()]
        if gone:
            problems.append(f"{shot.name} shows files that do not exist (SHOTS in "
                            f"layers/help/sections.py): {', '.join(gone)}")
        elif not png.exists():
            problems.append(f"{png.relative_to(root)} is missing")
        elif shot.name not in manifest:
            problems.append(f"{shot.name} is not in {shots_dir.name}/manifest.json")
        elif manifest[shot.name].get("sha256") != fingerprint(shot, root):
            changed = ", ".join(shot.files)
            problems.append(f"{shot.name}.png is older than what it shows (one of: {changed})")
    return problems
