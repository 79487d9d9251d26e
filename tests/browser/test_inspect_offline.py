"""/inspect without a network, on a phone (390×844) with geolocation: the page from the
service worker, the area saved on the phone, records queued and sent once."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_inspect_page import PASSWORD, PHONE
from tests.conftest import log_in, make_app
from tests.liveserver import LiveServer


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory):
    """Its own store: these tests write records."""
    app = make_app(tmp_path_factory.mktemp("offline-db") / "inspections.sqlite")
    app.extensions["users"].create("zhangwei", PASSWORD, "inspector", "张伟")
    app.extensions["users"].create("lina", PASSWORD, "inspector", "李娜")
    app.requests = []  # the paths Chromium asked the server for, in order
    wsgi = app.wsgi_app

    def noted(environ, start_response):
        if "Chrome" in environ.get("HTTP_USER_AGENT", ""):  # not the tests' own client
            app.requests.append(environ["PATH_INFO"])
        return wsgi(environ, start_response)

    app.wsgi_app = noted
    return app


@pytest.fixture(scope="module")
def server(offline_app):
    with LiveServer(offline_app) as live:
        yield live


def history(app, venue_id):
    """The venue's history as the server has it (with who recorded each)."""
    client = log_in(app.test_client(), "lina", password=PASSWORD)
    return client.get(f"/api/venues/{venue_id}/history").get_json()


def filed_hazards_near(app):
    """A venue with a hazard 立案, the point beside it, and the venues within 500 m: a
    plain one (合格) and every 立案 hazard there, nearest first."""
    client = app.test_client()
    venues = client.get("/api/layers/venues").get_json()["features"]
    for venue in venues:
        if venue["properties"]["open_hazards"] == 0:
            continue
        lon, lat = venue["geometry"]["coordinates"]
        here = (round(lon + 0.00004, 7), round(lat + 0.00003, 7))
        near = client.get(f"/api/nearby?lon={here[0]}&lat={here[1]}&layer=venues&limit=500"
                          ).get_json()["features"]
        plain = [f for f in near if f["properties"]["status"] == "合格"]
        filed = [(f, h) for f in near for h in history(app, f["id"])["open_hazards"]
                 if h["status"] == "立案"]
        if plain and len(filed) >= 2:
            return here, plain[0], filed
    raise AssertionError("no place with a plain venue and two hazards 立案 within 500 m")


@pytest.fixture
def phone(browser, server):
    context = browser.new_context(**PHONE, service_workers="allow", permissions=["geolocation"],
                                  geolocation={"longitude": 116.9610, "latitude": 36.6650,
                                               "accuracy": 8})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server.url + "/login?next=/inspect")
    page.fill("input[name=name]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.set_offline(False)
    context.close()


def open_venue(page, venue_id):
    """Tap the venue in the list (the nearest 50), or open it as a link does."""
    item = page.locator(f"#results .hs-item[data-id='{venue_id}']")
    if item.count():
        item.click()
    else:
        page.evaluate("(id) => Inspect.openVenue(id)", venue_id)
    page.wait_for_function("(id) => document.body.dataset.venueOpen === id", arg=venue_id)


def outbox(page):
    return page.evaluate("() => document.body.dataset.outbox")


def test_record_offline_reload_and_send_once(server, offline_app, phone, screenshot_dir):
    page = phone
    here, plain, filed = filed_hazards_near(offline_app)
    (hazard_venue, hazard), (_, other) = filed[0], filed[1]
    before = history(offline_app, plain["id"])["inspection_count"]
    page.goto(server.url + f"/inspect?lon={here[0]}&lat={here[1]}&crs=wgs84")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20000)

    # Saved for offline use: the venues within the radius and the overdue lists.
    page.click("#area-save")
    page.wait_for_selector("body[data-area-saved]", timeout=60000)
    saved = page.inner_text("#area-saved")
    assert "已保存离线使用" in saved and "半径 500 米" in saved and "个场所" in saved
    shown = page.locator("#results .hs-item").count()

    # Offline, the page opens from the phone, with the same list.
    page.context.set_offline(True)
    asked = len(offline_app.requests)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#net-status")).to_be_visible()
    expect(page.locator("#results .hs-item")).to_have_count(shown)
    expect(page.locator("#overdue-count")).not_to_be_empty()

    # An inspection and a hazard step, kept on the phone.
    open_venue(page, plain["id"])
    page.fill("#record-note", "地下室,没有信号")
    page.click("#record-form button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("已保存在本机,待发送")
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")
    expect(page.locator("#record-note")).to_have_value("")  # the form is free again
    page.click("#detail-back")
    open_venue(page, hazard_venue["id"])
    page.locator(f"#detail-hazards li[data-hazard='{hazard['id']}']").get_by_role(
        "button", name="标记为整改中").click()
    expect(page.locator("#notice")).to_contain_text(f"隐患 {hazard['id']} 标记为整改中")
    expect(page.locator("#outbox-count")).to_have_text("待发送 2")
    page.screenshot(path=str(screenshot_dir / "inspect-offline-queue.png"))

    # A reload offline keeps them.
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#outbox-count")).to_have_text("待发送 2")
    first = page.locator("#outbox-list li").first
    expect(first).to_contain_text("检查 " + plain["properties"]["name"])
    assert history(offline_app, plain["id"])["inspection_count"] == before  # nothing sent

    # Nothing of this reached the server: the page, its files and the answers came from
    # the phone (the worker's fetches are offline too). Only the browser's own check
    # for a new worker (/sw.js, at each load) is not held back by set_offline.
    reached = [path for path in offline_app.requests[asked:] if path != "/sw.js"]
    assert reached == []

    # Online again: sent in order, each stored once.
    page.context.set_offline(False)
    page.wait_for_function("() => document.body.dataset.outbox === '0'", timeout=30000)
    expect(page.locator("#outbox")).to_be_hidden()
    expect(page.locator("#notice")).to_contain_text("已发送保存在本机的 2 条记录")
    after = history(offline_app, plain["id"])
    assert after["inspection_count"] == before + 1
    mine = [i for i in after["inspections"] if i["note"] == "地下室,没有信号"]
    assert len(mine) == 1 and mine[0]["recorded_by"] == "zhangwei"
    steps = next(h for h in history(offline_app, hazard_venue["id"])["open_hazards"]
                 if h["id"] == hazard["id"])
    assert steps["status"] == "整改中"
    assert [e["status"] for e in steps["events"]].count("整改中") == 1

    assert page.errors == []

    # A record the server refuses on sending (the hazard moved on meanwhile) stays, with
    # the reason, until the inspector discards it.
    page.context.set_offline(True)
    if other["venue_id"] != hazard_venue["id"]:
        page.click("#detail-back")
        open_venue(page, other["venue_id"])
    page.locator(f"#detail-hazards li[data-hazard='{other['id']}']").get_by_role(
        "button", name="标记为整改中").click()
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")
    client = offline_app.test_client()
    log_in(client, "lina", password=PASSWORD)
    moved = client.post(f"/api/hazards/{other['id']}/status", json={"status": "整改中"},
                        )
    assert moved.status_code == 201, moved.get_json()
    page.context.set_offline(False)
    refused = page.locator("#outbox-list li[data-refused=true]")
    expect(refused).to_contain_text(f"服务器未接受:隐患 {other['id']} 现为整改中",
                                    timeout=30000)
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")
    page.screenshot(path=str(screenshot_dir / "inspect-offline-refused.png"))
    refused.get_by_role("button", name="重试").click()  # refused again, still kept
    expect(page.locator("#outbox-message")).not_to_contain_text("正在发送")
    expect(refused).to_contain_text(f"隐患 {other['id']} 现为整改中")
    page.once("dialog", lambda dialog: dialog.dismiss())  # 放弃 asks first
    refused.get_by_role("button", name="放弃").click()
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")
    page.once("dialog", lambda dialog: dialog.accept())
    refused.get_by_role("button", name="放弃").click()
    page.wait_for_function("() => document.body.dataset.outbox === '0'")
    assert page.errors == []


def log_in_as(page, server, name, venue_id):
    page.goto(server.url + f"/login?next=/inspect?venue={venue_id}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click(".hs-login button[type=submit]")
    page.wait_for_selector("body[data-ready=true]")


def test_the_queue_waits_for_a_login_by_the_account_that_recorded(server, offline_app,
                                                                   phone):
    page = phone
    venue = offline_app.test_client().get("/api/layers/venues").get_json()["features"][5]
    log_in_as(page, server, "zhangwei", venue["id"])
    before = history(offline_app, venue["id"])["inspection_count"]
    expect(page.locator("#record-form")).to_be_visible()
    page.evaluate("""async () => {  // an area zhangwei saved (as 保存本区域 keeps it)
        const area = {saved: new Date().toISOString(), venues: 1, radius: 500, place: "某处",
                      page: "/inspect", user: "zhangwei"};
        localStorage.setItem("huaishu.inspect.area", JSON.stringify(area));
        await (await caches.open("huaishu-inspect-area")).put("/api/x", new Response("{}"));
    }""")
    page.context.set_offline(True)
    page.fill("#record-note", "等待登录后发送")
    page.click("#record-form button[type=submit]")
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")

    # The session ends while offline (「全部设备退出」 elsewhere): back online, nothing is
    # sent, and the page says why.
    elsewhere = log_in(offline_app.test_client(), "zhangwei", password=PASSWORD)
    assert elsewhere.post("/logout/everywhere").status_code in (302, 303)
    page.context.set_offline(False)
    expect(page.locator("#outbox-message")).to_contain_text("登录已失效", timeout=30000)
    # Another inspector logs in on this phone: the record is not sent as theirs.
    log_in_as(page, server, "lina", venue["id"])
    expect(page.locator("#outbox-message")).to_contain_text("由其他账号记录", timeout=30000)
    # ... nor does she find what he saved on the phone (the page says so once it has
    # cleared it: the template's own text is the same).
    page.wait_for_function("() => document.body.dataset.areaChecked === 'true'")
    expect(page.locator("#area-saved")).to_have_text("本区域尚未保存离线使用。")
    assert page.evaluate("async () => (await caches.keys()).includes('huaishu-inspect-area')"
                         " && (await caches.match('/api/x', {cacheName: 'huaishu-inspect-area'}))"
                         " !== undefined") is False
    expect(page.locator("#outbox-list li")).to_contain_text("zhangwei")
    assert history(offline_app, venue["id"])["inspection_count"] == before
    # Its author logs in again: sent, once.
    log_in_as(page, server, "zhangwei", venue["id"])
    page.wait_for_function("() => document.body.dataset.outbox === '0'", timeout=30000)
    after = history(offline_app, venue["id"])
    assert after["inspection_count"] == before + 1
    assert after["inspections"][0]["recorded_by"] == "zhangwei"
    assert page.errors == []


def test_a_server_error_keeps_the_record_queued(server, offline_app, phone):
    page = phone
    venue = offline_app.test_client().get("/api/layers/venues").get_json()["features"][7]
    log_in_as(page, server, "zhangwei", venue["id"])
    before = history(offline_app, venue["id"])["inspection_count"]
    page.context.set_offline(True)
    page.fill("#record-note", "服务器出错时")
    page.click("#record-form button[type=submit]")
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")
    failing = []

    def unavailable(route):
        failing.append(route.request.url)
        route.fulfill(status=503, content_type="application/json",
                      body='{"ok": false, "error": "数据库暂时无法连接", "status": 503}')

    page.context.route("**/api/inspections", unavailable)
    page.context.set_offline(False)
    expect(page.locator("#outbox-message")).to_contain_text("服务器暂时无法处理", timeout=30000)
    assert failing  # it was sent, and kept
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")
    expect(page.locator("#outbox-list li[data-refused]")).to_have_count(0)
    page.context.unroute("**/api/inspections", unavailable)
    page.click("#outbox-send")
    page.wait_for_function("() => document.body.dataset.outbox === '0'", timeout=30000)
    assert history(offline_app, venue["id"])["inspection_count"] == before + 1


def test_a_venue_edit_queued_offline_lands_once(server, offline_app, phone):
    """「标记停业」 offline goes to the same queue as records (its Idempotency-Key), and is
    sent in order when the network returns (after the record queued before it, which a
    closed venue would refuse): one version of the venues layer. A record queued for a
    venue someone closed meanwhile is refused and stays, with the reason."""
    page = phone
    venues = offline_app.test_client().get("/api/layers/venues").get_json()["features"]
    closing, other = venues[9], venues[11]
    layers = offline_app.extensions["layer_history"]
    head = layers.heads()["venues"]
    before = history(offline_app, closing["id"])["inspection_count"]
    log_in_as(page, server, "zhangwei", closing["id"])
    page.context.set_offline(True)
    page.fill("#record-note", "停业前最后一次检查")
    page.click("#record-form button[type=submit]")
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")
    page.get_by_role("button", name="标记停业").click()
    form = page.locator("#venue-close-form")
    form.locator("input[name=reason]").fill("离线时看到已关门")
    form.get_by_role("button", name="确认停业").click()
    name = closing["properties"]["name"]
    expect(page.locator("#notice")).to_contain_text("已保存在本机,待发送:标记停业 " + name)
    expect(page.locator("#outbox-count")).to_have_text("待发送 2")
    expect(page.locator("#outbox-list li").nth(1)).to_contain_text("标记停业 " + name)
    page.reload()  # kept on the phone
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#outbox-count")).to_have_text("待发送 2")
    assert layers.heads()["venues"] == head  # nothing sent

    page.context.set_offline(False)
    page.wait_for_function("() => document.body.dataset.outbox === '0'", timeout=30000)
    edits = [v for v in layers.versions("venues", after=head)
             if v.reason == "巡查标记停业:离线时看到已关门"]
    assert len(edits) == 1 and edits[0].changed == [closing["id"]]
    assert layers.heads()["venues"] == head + 1
    after = history(offline_app, closing["id"])
    assert after["venue"]["properties"]["closed_on"]
    assert after["inspection_count"] == before + 1  # sent first, in order

    # A record queued for a venue another inspector closes meanwhile: refused, kept.
    page.evaluate("(id) => Inspect.openVenue(id)", other["id"])
    page.wait_for_function("(id) => document.body.dataset.venueOpen === id", arg=other["id"])
    page.context.set_offline(True)
    page.fill("#record-note", "对方已关门前的检查")
    page.click("#record-form button[type=submit]")
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")
    lina = log_in(offline_app.test_client(), "lina", password=PASSWORD)
    assert lina.post(f"/api/venues/{other['id']}/closure", json={
        "base": head, "reason": "李娜看到已关门"}).status_code == 200
    page.context.set_offline(False)
    refused = page.locator("#outbox-list li[data-refused=true]")
    expect(refused).to_contain_text("服务器未接受:该场所已停业，不能再记录检查", timeout=30000)
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")
    page.once("dialog", lambda dialog: dialog.accept())
    refused.get_by_role("button", name="放弃").click()
    page.wait_for_function("() => document.body.dataset.outbox === '0'")
    assert layers.heads()["venues"] == head + 2
    assert page.errors == []


def test_a_queued_venue_edit_refused_for_a_change_meanwhile_is_sent_on_the_venue_as_it_is(
        server, offline_app, phone):
    """A closure queued offline, on the version the page read, of a venue another
    inspector moved meanwhile: refused (409, what changed), and sent again unchanged it
    would be refused again. 「按最新版本提交」, after a confirmation, sends it on the layer's
    version now, with a new key: one version, the venue closed where she moved it."""
    page = phone
    venue = offline_app.test_client().get("/api/layers/venues").get_json()["features"][13]
    layers = offline_app.extensions["layer_history"]
    log_in_as(page, server, "zhangwei", venue["id"])
    page.context.set_offline(True)
    page.get_by_role("button", name="标记停业").click()
    form = page.locator("#venue-close-form")
    form.locator("input[name=reason]").fill("门上贴了转让")
    form.get_by_role("button", name="确认停业").click()
    expect(page.locator("#outbox-count")).to_have_text("待发送 1")
    lon, lat = venue["geometry"]["coordinates"]
    lina = log_in(offline_app.test_client(), "lina", password=PASSWORD)
    moved = lina.post(f"/api/venues/{venue['id']}/position", json={
        "base": layers.heads()["venues"], "lon": lon + 0.0001, "lat": lat, "reason": "门牌在东侧"})
    assert moved.status_code == 200, moved.get_json()
    head = layers.heads()["venues"]

    page.context.set_offline(False)
    refused = page.locator("#outbox-list li[data-refused=true]")
    expect(refused).to_contain_text(f"要素 {venue['id']} 已在版本 {head} 被修改", timeout=30000)
    assert layers.heads()["venues"] == head
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    refused.get_by_role("button", name="按最新版本提交").click()
    page.wait_for_function("() => document.body.dataset.outbox === '0'", timeout=30000)
    assert "已被他人修改" in dialogs[0] and "标记停业" in dialogs[0]
    assert layers.heads()["venues"] == head + 1
    now = history(offline_app, venue["id"])["venue"]
    assert now["properties"]["closed_on"]
    assert now["geometry"]["coordinates"][0] == pytest.approx(lon + 0.0001)
    assert page.errors == []
