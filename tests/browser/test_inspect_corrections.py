"""Corrections on /inspect on a phone (390×844): record, correct the date with a reason and
see the old date struck through with the reason; void another and see 已作废."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_inspect_page import (
    LITERAL,
    PASSWORD,
    a_plain_venue,
    assert_stayed_local,
    log_in_at,
)
from tests.conftest import make_app
from tests.liveserver import LiveServer


@pytest.fixture(scope="module")
def corrections_app(tmp_path_factory):
    """Its own store: these tests write records."""
    app = make_app(tmp_path_factory.mktemp("corrections-db") / "inspections.sqlite")
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    app.extensions["users"].create("lina", PASSWORD, "inspector", "李娜")
    return app


@pytest.fixture(scope="module")
def server(corrections_app):
    with LiveServer(corrections_app) as live:
        yield live


def record_one(page, note):
    page.fill("#record-note", note)
    page.click("#record-form button[type=submit]")
    notice = page.locator("#notice")
    expect(notice).to_contain_text("已记录:")
    return notice.inner_text().rsplit("记录编号 ", 1)[1].rstrip("。")


def test_correct_a_date_and_void_a_record(server, corrections_app, phone, screenshot_dir):
    page = phone
    venue, _, _, _ = a_plain_venue(corrections_app)
    log_in_at(page, server, venue["id"])

    # Record, then correct its date with a reason.
    first = record_one(page, "店主在场")
    item = page.locator(f"#history li[data-inspection='{first}']")
    expect(item).to_contain_text("2026-11-25")
    item.get_by_role("button", name="更正").click()
    form = item.locator("form.hs-correct-form")
    expect(form).to_be_visible()
    form.locator("select[name=field]").select_option("date")
    form.locator("input[type=date]").fill("2026-11-22")
    form.get_by_role("button", name="提交更正").click()  # no reason: said, nothing sent
    expect(form.locator(".hs-error")).to_have_text("请填写更正原因。")
    form.locator("input[name=reason]").fill("日期选错了 " + LITERAL)
    form.get_by_role("button", name="提交更正").click()
    expect(page.locator("#notice")).to_contain_text(
        f"已更正:记录 {first} 的检查日期 2026-11-25 → 2026-11-22。")
    item = page.locator(f"#history li[data-inspection='{first}']")
    expect(item.locator(".hs-history-head b")).to_have_text("2026-11-22")
    line = item.locator(".hs-correction")
    expect(line.locator("del")).to_have_text("2026-11-25")
    expect(line.locator("ins")).to_have_text("2026-11-22")
    expect(line).to_contain_text("张伟")
    expect(line.locator(".hs-correction-reason")).to_have_text("日期选错了 " + LITERAL)
    assert page.evaluate("window.__xss") is None
    item.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "inspect-corrected.png"))

    # Record another, and void it: greyed, 已作废, no 「更正」 any more.
    second = record_one(page, "重复提交")
    item = page.locator(f"#history li[data-inspection='{second}']")
    item.get_by_role("button", name="更正").click()
    form = item.locator("form.hs-correct-form")
    form.locator("select[name=field]").select_option("void")
    expect(form.locator("input[type=date]")).to_have_count(0)
    form.locator("input[name=reason]").fill("重复记录")
    form.get_by_role("button", name="提交更正").click()
    expect(page.locator("#notice")).to_contain_text(f"已更正:记录 {second}(2026-11-25)已作废。")
    item = page.locator(f"#history li[data-inspection='{second}']")
    expect(item).to_have_class(re.compile(r"\bhs-voided\b"))
    expect(item.locator(".hs-tag-voided")).to_have_text("已作废")
    expect(item.locator(".hs-correction")).to_contain_text("重复记录")
    expect(item.get_by_role("button", name="更正")).to_have_count(0)
    assert float(item.evaluate("e => getComputedStyle(e).opacity")) < 1
    # The venue's last inspection is the corrected record's date now that the other is void.
    expect(page.locator("#detail-last")).to_have_text(
        max(venue["properties"]["last_inspection"], "2026-11-22"))
    item.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "inspect-voided.png"))
    assert_stayed_local(page)


def test_another_inspectors_record_has_no_correct_button(server, corrections_app, phone):
    page = phone
    venue, _, _, _ = a_plain_venue(corrections_app)
    log_in_at(page, server, venue["id"])
    mine = record_one(page, "我的记录")
    page.context.clear_cookies()
    log_in_at(page, server, venue["id"], "lina")
    item = page.locator(f"#history li[data-inspection='{mine}']")
    expect(item).to_be_visible()
    expect(item.get_by_role("button", name="更正")).to_have_count(0)
    assert_stayed_local(page)
