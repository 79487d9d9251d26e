"""/help cannot rot: every page route has its section, every 「?」 leads to one, and the
screenshots exist and are not older than the pages they show."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from layers.catalogue.styles import VENUE_STATUS_COLORS
from layers.help.sections import (
    PAGE_HELP,
    REGENERATE,
    SHOTS,
    SHOTS_DIR,
    fingerprint,
    read_manifest,
    stale_shots,
)
from tests.conftest import client_as, make_app

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
# Values for the path parameters of the routes, to open each one.
SAMPLE_ARGS = {"kind": "parcels", "feature_id": "P01", "name": "parcels",
               "collection_id": "parcels", "tms_id": "WebMercatorQuad", "z": 0, "y": 0, "x": 0,
               "venue_id": "V0001", "source": "none", "filename": "css/app.css"}
NOT_PAGES = ("/static/", "/tiles/", "/api/")  # files, tiles and JSON, never a page


@pytest.fixture(scope="module")
def help_app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("help") / "inspections.sqlite")


@pytest.fixture(scope="module")
def admin(help_app):
    return client_as(help_app, "admin")


@pytest.fixture(scope="module")
def guide_ids(help_app) -> set[str]:
    html = help_app.test_client().get("/help").get_data(as_text=True)
    return set(re.findall(r'\bid="([^"]+)"', html))


def page_routes(app, client) -> dict[str, str]:
    """Every GET route that answers a browser with an HTML page: endpoint -> its URL."""
    pages = {}
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith(NOT_PAGES):
            continue
        url = adapter.build(rule.endpoint, {arg: SAMPLE_ARGS[arg] for arg in rule.arguments})
        response = client.get(url, headers={"Accept": "text/html"})
        if response.status_code == 200 and response.mimetype == "text/html":
            pages[rule.endpoint] = url
    return pages


def test_every_page_route_has_a_help_section(help_app, admin, guide_ids):
    pages = page_routes(help_app, admin)
    assert {"pages.index", "inspect.inspect_page", "admin.users_page", "ogc.items"} <= set(pages)
    missing = sorted(set(pages) - set(PAGE_HELP))
    assert not missing, ("page routes without a section of /help: add them to PAGE_HELP in "
                         f"layers/help/sections.py: {missing}")
    unknown = sorted(set(PAGE_HELP) - {r.endpoint for r in help_app.url_map.iter_rules()})
    assert not unknown, f"PAGE_HELP names endpoints that do not exist: {unknown}"
    absent = sorted({s for s in PAGE_HELP.values() if s not in guide_ids})
    assert not absent, f"PAGE_HELP names sections that /help does not have: {absent}"


def test_every_page_links_to_help_in_its_header(help_app, admin):
    for endpoint, url in page_routes(help_app, admin).items():
        if endpoint == "pages.print_view":  # a sheet to print: no header
            continue
        html = admin.get(url, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert re.search(r'<nav class="hs-nav".*?href="/help"[^>]*>帮助</a>', html, re.S), url


def test_every_question_mark_leads_to_a_section(help_app, admin, guide_ids):
    used = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r'help_link\("([^"]+)"', path.read_text(encoding="utf-8")))
    assert {"map-draw", "inspect-record", "admin-import", "review-brief"} <= used
    assert not used - guide_ids, f"「?」 links to sections /help does not have: {used - guide_ids}"
    html = admin.get("/").get_data(as_text=True)
    links = re.findall(r'<a class="hs-help-link" href="([^"]+)"', html)
    assert "/help#map-draw" in links and all(link.startswith("/help#") for link in links)


def test_the_guide_has_one_part_per_role_and_the_users_part_first(help_app, guide_ids):
    assert {"start", "map", "inspect", "leader", "admin"} <= guide_ids
    for role, part in (("inspector", "inspect"), ("leader", "leader"), ("admin", "admin"),
                       ("viewer", "map")):
        html = client_as(help_app, role).get("/help").get_data(as_text=True)
        mine = html.split('id="for-you">')[1][:300]
        assert mine.startswith("您的账号是") and f'href="#{part}"' in mine
    assert "for-you" not in help_app.test_client().get("/help").get_data(as_text=True)


def test_help_is_open_to_everyone_and_loads_nothing_from_outside(tmp_path):
    app = make_app(tmp_path / "db.sqlite", ANONYMOUS_ROLE="none")
    client = app.test_client()
    assert client.get("/").status_code == 401
    response = client.get("/help")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    refs = re.findall(r'(?:src|href)="([^"#][^"]*)"', html)
    assert refs and all(ref.startswith("/") and not ref.startswith("//") for ref in refs), refs
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*nonce=)", html)  # no inline script
    assert " style=" not in html


def test_every_screenshot_the_guide_shows_exists():
    guide = (TEMPLATES / "help" / "guide.html").read_text(encoding="utf-8")
    shown = set(re.findall(r'\{\{ shot\("([^"]+)"', guide))
    names = {shot.name for shot in SHOTS}
    assert shown == names, f"shown, not made: {shown - names}; made, not shown: {names - shown}"
    missing = [name for name in shown if not (SHOTS_DIR / f"{name}.png").exists()]
    assert not missing, f"screenshots missing from static/help: {missing}; run `{REGENERATE}`"


def test_screenshots_are_not_older_than_the_pages_they_show():
    problems = stale_shots()
    assert not problems, ("the screenshots of /help are stale; run `" + REGENERATE
                          + "` and commit static/help/:\n" + "\n".join(problems))


def test_a_changed_template_or_a_missing_screenshot_makes_them_stale(tmp_path):
    """The staleness check can fail: on a copy of the project, change one file a screenshot
    shows, and remove another screenshot."""
    shot, other = SHOTS[0], SHOTS[-1]
    root = tmp_path / "project"
    for name in {name for s in SHOTS for name in s.files}:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    shots = root / "static" / "help"
    shutil.copytree(SHOTS_DIR, shots, dirs_exist_ok=True)
    manifest = read_manifest(shots / "manifest.json")
    assert manifest[shot.name]["sha256"] == fingerprint(shot, root)
    changed = root / shot.files[-1]
    changed.write_bytes(changed.read_bytes() + b"\n")
    (shots / f"{other.name}.png").unlink()
    problems = stale_shots(root, shots)
    assert f"{shot.name}.png is older than what it shows (one of: {', '.join(shot.files)})" \
        in problems
    assert f"static/help/{other.name}.png is missing" in problems
    assert not any(p.startswith(f"{s.name}.png") for p in problems for s in SHOTS
                   if changed.relative_to(root).as_posix() not in s.files)
    (root / shot.files[0]).unlink()
    assert stale_shots(root, shots)[0].startswith(f"{shot.name} shows files that do not exist")


def test_the_status_colours_of_the_guide_are_the_maps():
    css = (ROOT / "static" / "css" / "help.css").read_text(encoding="utf-8")
    found = re.findall(r"\.hp-(late|hazard|overdue|ok|closed) \{ background: (#[0-9a-f]{6}); \}",
                       css)
    assert sorted(c for _, c in found) == sorted(VENUE_STATUS_COLORS.values())
