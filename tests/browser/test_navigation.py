"""The header's page links: every page reaches every other, the current one marked."""

from tests.browser.conftest import log_in_page
from tests.conftest import ensure_user

PAGE_ROLE = "leader"  # a leader may use every page linked here (admins see two more)

LINKS = {"一张图": "/", "巡查": "/inspect", "闲置土地": "/parcels", "重点项目": "/projects",
         "年度指标": "/dashboard", "数据服务": "/ogc/", "帮助": "/help"}


def test_every_page_links_to_every_other_and_marks_itself(live_server, page):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed = []
    # A fetch the next navigation cancels (ERR_ABORTED: the map's layers, when the link is
    # clicked before they arrive) is no failure of the page; anything else is.
    page.on("requestfailed",
            lambda r: failed.append(r.url) if "ERR_ABORTED" not in (r.failure or "") else None)
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(live_server.url + "/")
    for label, path in LINKS.items():
        page.locator(".hs-nav").get_by_role("link", name=label, exact=True).click()
        page.wait_for_url(live_server.url + path)
        nav = page.locator(".hs-nav a")
        assert nav.all_inner_texts() == list(LINKS)
        assert page.locator(".hs-nav a[aria-current=page]").inner_text() == label
    assert errors == [] and failed == []  # the favicon included


def test_phone_header_keeps_the_links_reachable(live_server, live_app, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    ensure_user(live_app, "browser-leader", "leader")
    log_in_page(page, live_server.url, "browser-leader")
    page.goto(live_server.url + "/inspect")
    header = page.locator(".hs-header").bounding_box()
    assert header["height"] < 48  # one line: the page below gets the screen
    assert page.locator(".hs-page-title").is_hidden()
    page.locator(".hs-nav").get_by_role("link", name="年度指标").click()
    page.wait_for_url(live_server.url + "/dashboard")
    context.close()
