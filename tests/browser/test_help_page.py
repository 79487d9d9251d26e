"""/help in Chromium: the guide as each role, the 「?」 of tools on the pages leading to
their sections, and the screenshots loaded."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in_page
from tests.conftest import ensure_user

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def new_page(browser, base_url, live_app, role, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    violations: list[str] = []  # of every page of the context, the guide's tabs too
    context.on("console", lambda m: violations.append(m.text)
               if "Content Security Policy" in m.text else None)
    context.violations = violations  # type: ignore[attr-defined]
    page = context.new_page()
    if role is not None:
        ensure_user(live_app, f"browser-{role}", role)
        log_in_page(page, base_url, f"browser-{role}")
    return context, page


def follow_help(context, page, section: str):
    """Click the 「?」 of a tool: the guide opens in a new tab at its section, which is the
    :target and lies in view."""
    link = page.locator(f"a.hs-help-link[data-help='{section}']").first
    link.wait_for()
    with context.expect_page() as opened:
        link.click()
    guide = opened.value
    guide.wait_for_load_state("load")
    assert guide.url.endswith(f"/help#{section}")
    guide.wait_for_function(
        """(id) => {
          const t = document.querySelector(':target');
          if (!t || t.id !== id) return false;
          const r = t.getBoundingClientRect();
          return r.height > 0 && r.top >= -1 && r.top < window.innerHeight;
        }""", arg=section, timeout=10000)
    title = guide.locator(f"#{section} h3, #{section} h2").first.inner_text()
    assert title and guide.locator(f"#{section} h3, #{section} h2").first.is_visible()
    return guide


def assert_screenshots_loaded(page):
    page.wait_for_function(
        "() => [...document.images].filter((i) => i.dataset.shot).every((i) => i.complete)",
        timeout=20000)
    shots = page.eval_on_selector_all(
        "img[data-shot]", "(imgs) => imgs.map((i) => [i.dataset.shot, i.naturalWidth])")
    assert len(shots) >= 10
    assert all(width > 0 for _, width in shots), [name for name, w in shots if not w]


@pytest.mark.parametrize("role, part, label", [
    (None, None, None), ("viewer", "map", "查看"), ("inspector", "inspect", "巡查员"),
    ("leader", "leader", "领导"), ("admin", "admin", "管理员")])
def test_help_as_each_role(browser, live_server, live_app, role, part, label):
    viewport = PHONE if role == "inspector" else DESKTOP
    context, page = new_page(browser, live_server.url, live_app, role, viewport)
    try:
        page.goto(live_server.url + "/")
        with page.expect_navigation():
            page.locator(".hs-nav a", has_text="帮助").click()
        assert page.url.endswith("/help")
        if part is None:
            assert page.locator("#for-you").count() == 0
        else:
            assert label in page.locator("#for-you").inner_text()
            page.locator("#for-you a").click()
            page.wait_for_function("(id) => location.hash === '#' + id", arg=part)
            assert page.evaluate("() => document.querySelector(':target').id") == part
        assert_screenshots_loaded(page)
        assert context.violations == []  # type: ignore[attr-defined]
    finally:
        context.close()


def test_the_question_marks_of_the_tools_open_their_sections(browser, live_server, live_app):
    # 一张图 (a visitor): drawing an area and reading its totals.
    context, page = new_page(browser, live_server.url, live_app, None)
    try:
        page.goto(live_server.url + "/")
        page.wait_for_function("() => document.body.dataset.panelReady === 'true'",
                               timeout=20000)
        guide = follow_help(context, page, "map-draw")
        assert "画矩形统计" in guide.locator("#map-draw").inner_text()
        assert_screenshots_loaded(guide)
    finally:
        context.close()
    # 巡查 on the phone (an inspector): recording an inspection.
    context, page = new_page(browser, live_server.url, live_app, "inspector", PHONE)
    try:
        page.goto(live_server.url + "/inspect?lon=116.964&lat=36.662&crs=wgs84&venue=V0306")
        page.wait_for_selector("#record-form:not([hidden])", timeout=20000)
        guide = follow_help(context, page, "inspect-record")
        assert "提交检查记录" in guide.locator("#inspect-record").inner_text()
        follow_help(context, page, "inspect-status")
    finally:
        context.close()
    # 图层数据 (an admin): importing a file.
    context, page = new_page(browser, live_server.url, live_app, "admin")
    try:
        page.goto(live_server.url + "/admin/layers")
        guide = follow_help(context, page, "admin-import")
        assert "仅校验" in guide.locator("#admin-import").inner_text()
        assert context.violations == []  # type: ignore[attr-defined]
    finally:
        context.close()
