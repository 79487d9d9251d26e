"""Accounts in Chromium: an admin makes an inspector, who records; the audit log shows it.
A viewer sees no leaders' links and is refused their pages."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in_page
from tests.browser.test_inspect_page import a_plain_venue
from tests.conftest import ensure_user, make_app
from tests.liveserver import LiveServer

NEW_PASSWORD = "liuyang-pw-1"


@pytest.fixture(scope="module")
def accounts_app(tmp_path_factory):
    """Its own store: these tests make users and records."""
    app = make_app(tmp_path_factory.mktemp("accounts-db") / "inspections.sqlite")
    ensure_user(app, "chief", "admin")
    return app


@pytest.fixture(scope="module")
def server(accounts_app):
    with LiveServer(accounts_app) as live:
        yield live


def log_out(page):
    with page.expect_navigation():
        page.click(".hs-logout button")
    expect(page.locator(".hs-login-link")).to_be_visible()


def test_an_admin_makes_an_inspector_who_records_and_the_admin_sees_it(
        server, accounts_app, page, screenshot_dir):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in_page(page, server.url, "chief")
    page.locator(".hs-nav").get_by_role("link", name="用户管理").click()
    page.wait_for_url(server.url + "/admin/users")

    form = page.locator("#create-user")
    form.locator("input[name=name]").fill("liuyang")
    form.locator("input[name=display_name]").fill("刘洋")
    form.locator("select[name=role]").select_option("inspector")
    form.locator("input[name=password]").fill(NEW_PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.locator(".hs-ok")).to_have_text("已创建用户 liuyang(刘洋,巡查员)")
    row = page.locator("#users tr[data-user=liuyang]")
    expect(row.locator("select[name=role]")).to_have_value("inspector")
    page.screenshot(path=str(screenshot_dir / "admin-users.png"), full_page=True)
    log_out(page)

    # The new inspector records an inspection on /inspect, as inspectors do.
    log_in_page(page, server.url, "liuyang", NEW_PASSWORD)
    expect(page.locator(".hs-account-name")).to_contain_text("刘洋")
    venue, here, _, _ = a_plain_venue(accounts_app)
    page.goto(f"{server.url}/inspect?lon={here[0]}&lat={here[1]}&venue={venue['id']}")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#detail-name")).to_have_text(venue["properties"]["name"])
    expect(page.locator("#record-form")).to_be_visible()
    expect(page.locator("#record-inspector")).to_have_value("刘洋")
    page.fill("#record-note", "账号测试")
    page.click("#record-form button[type=submit]")
    expect(page.locator("#detail-last")).to_have_text("2026-11-25")
    expect(page.locator("#history li").first).to_contain_text("账号测试")
    log_out(page)

    # The admin finds it in the audit log.
    log_in_page(page, server.url, "chief")
    page.locator(".hs-nav").get_by_role("link", name="审计日志").click()
    page.locator("#audit-filter select[name=action]").select_option("inspection.create")
    with page.expect_navigation():
        page.locator("#audit-filter button[type=submit]").click()
    entry = page.locator('#audit tr[data-action="inspection.create"]')
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("liuyang")
    expect(entry).to_contain_text("记录检查")
    expect(entry).to_contain_text(venue["id"])
    page.screenshot(path=str(screenshot_dir / "admin-audit.png"), full_page=True)
    assert errors == []


def test_a_viewer_sees_no_leaders_links_and_is_refused_their_pages(server, accounts_app, page):
    ensure_user(accounts_app, "guest", "viewer")
    log_in_page(page, server.url, "guest")
    assert page.locator(".hs-nav a").all_inner_texts() == ["一张图", "巡查", "数据服务", "帮助"]
    expect(page.locator(".hs-account-name")).to_contain_text("查看")
    response = page.goto(server.url + "/parcels")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("无权访问")
    response = page.goto(server.url + "/admin/users")
    assert response.status == 403
