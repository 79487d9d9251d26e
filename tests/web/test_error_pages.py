"""Errors as users meet them: pages in the site's layout, in Chinese, with a way back;
JSON under /api and /ogc and wherever the client asks for JSON."""

import re

import pytest
from werkzeug.exceptions import ServiceUnavailable

from tests.conftest import client_as, make_app

CJK = re.compile(r"[\u4e00-\u9fff]")
# werkzeug's own English pages and descriptions must never reach a user
ENGLISH_PAGES = ("Not Found", "Method Not Allowed", "Internal Server Error", "Bad Request",
                 "Request Entity Too Large", "Service Unavailable", "<title>40", "<title>50")

# Every page route (GET, not /api, /ogc or /static) with bad parameters and what it answers.
# A page that reads no parameter on the server answers 200: its page script reads them.
BAD_PAGE_REQUESTS = {
    "pages.index": [("/?bbox=1,2,3&community=不存在", 200)],
    "pages.print_view": [("/print?bbox=1,2,3", 400), ("/print?bbox=a,b,c,d", 400),
                         ("/print?basemap=nope", 400), ("/print?coverage=nope", 400),
                         ("/print?layers=nope", 400), ("/print?indicator=nope", 400),
                         ("/print?title=" + "长" * 500, 400)],
    "review.sites_page": [("/parcels?status=nope&sort=nope", 200)],
    "review.brief_page": [("/parcels/P99/brief", 404), ("/parcels/P01/brief?distance=-5", 400),
                          ("/projects/J01/brief?distance=abc", 400),
                          ("/projects/J01/brief?basemap=nope", 400)],
    "review.brief_pdf_file": [("/parcels/P99/brief.pdf", 404),
                              ("/parcels/P01/brief.pdf?distance=1e9", 400)],
    "review.dashboard": [("/dashboard?year=x", 200)],
    "inspect.inspect_page": [("/inspect?lon=abc&lat=1", 400), ("/inspect?lon=116.96", 400),
                             ("/inspect?lon=116.96&lat=36.66&crs=nope", 400),
                             ("/inspect?lon=36.66&lat=116.96", 400)],
    "admin.audit_page": [("/admin/audit?limit=x", 400)],
    "admin.users_page": [("/admin/users?x=1", 200)],
    "layer_admin.layers_page": [("/admin/layers?x=1", 200)],
    "layer_admin.versions_page": [("/admin/layers/nope/versions", 404),
                                  ("/admin/layers/communities/versions?from=x&to=1", 400),
                                  ("/admin/layers/communities/versions?from=1&to=" + "9" * 30,
                                   400)],
    "layer_admin.download": [("/admin/layers/nope/download", 404),
                             ("/admin/layers/communities/download?format=nope", 400)],
    "auth.login": [("/login?next=http://elsewhere.example/", 200)],
    "help.guide": [("/help?role=nope", 200)],
}


def page_rules(app):
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if "GET" in rule.methods
            and not rule.rule.startswith(("/api/", "/ogc/", "/static/", "/tiles/"))
            and rule.endpoint not in ("health.healthz", "health.readyz",  # JSON for probes
                                      "inspect.service_worker")}  # a script (/sw.js)


def assert_error_page(response, status):
    text = response.get_data(as_text=True)
    assert response.status_code == status, (response.request.path, text[:300])
    assert response.mimetype == "text/html"
    assert '<html lang="zh-CN">' in text and 'class="hs-header"' in text  # the site's layout
    assert not any(english in text for english in ENGLISH_PAGES), text[:500]
    if status >= 400:  # the error page, or a page that shows its form again with the error
        message = re.search(r'role="alert"[^>]*>(.*?)<', text, re.S)
        assert message and CJK.match(message.group(1).strip()), text
        if "hs-error-page" in text:
            assert '<a href="/">返回一张图</a>' in text  # a way back


def test_the_table_names_every_page_route(app):
    assert page_rules(app) == set(BAD_PAGE_REQUESTS)


@pytest.mark.parametrize("endpoint", sorted(BAD_PAGE_REQUESTS))
def test_every_page_with_bad_parameters_answers_a_chinese_page(app, endpoint):
    client = client_as(app, "admin")
    for url, status in BAD_PAGE_REQUESTS[endpoint]:
        assert_error_page(client.get(url, headers={"Accept": "text/html"}), status)


def test_the_issues_cases_are_pages_in_chinese(app):
    client = client_as(app, "leader")
    text = client.get("/print?bbox=1,2,3").get_data(as_text=True)
    assert "范围 bbox 须为 4 个数" in text and "技术细节" in text
    text = client.get("/parcels/P99/brief").get_data(as_text=True)
    assert "图层 parcels 中没有 &#39;P99&#39;" in text
    text = client.get("/inspect?lon=abc&lat=1").get_data(as_text=True)
    assert "经度 lon 须为数值" in text


def test_unknown_pages_and_methods(app):
    client = app.test_client()
    assert_error_page(client.get("/nowhere", headers={"Accept": "text/html"}), 404)
    assert_error_page(client.get("/parcels/P01/nothing"), 404)
    response = client.post("/print", headers={"Accept": "text/html"})
    assert_error_page(response, 405)
    assert "GET" in response.headers["Allow"]
    assert "页面不存在" in client.get("/nowhere").get_data(as_text=True)


def test_the_way_back_is_the_previous_page_of_this_site(app):
    client = app.test_client()
    text = client.get("/nowhere", headers={"Referer": "http://localhost/parcels"}
                      ).get_data(as_text=True)
    assert '<a href="http://localhost/parcels">返回上一页</a>' in text
    text = client.get("/nowhere", headers={"Referer": "http://elsewhere.example/"}
                      ).get_data(as_text=True)
    assert "返回上一页" not in text


def test_refused_pages_401_and_403(app):
    response = app.test_client().get("/admin/audit")  # nobody logged in: the login form
    assert response.status_code == 401 and "请先登录" in response.get_data(as_text=True)
    response = client_as(app, "viewer").get("/admin/audit")
    assert_error_page(response, 403)
    assert "没有使用「审计日志」的权限" in response.get_data(as_text=True) or \
        "没有使用" in response.get_data(as_text=True)


def test_json_stays_json_in_chinese(app):
    client = app.test_client()
    for url in ("/api/nowhere", "/ogc/nowhere", "/api/layers/nope", "/ogc/collections/nope",
                "/tiles/nope/15/1/2"):
        response = client.get(url)
        body = response.get_json()
        assert response.status_code == 404 and body["ok"] is False, url
        assert CJK.match(body["error"]), body
    response = client.get("/nowhere", headers={"Accept": "application/json"})
    assert response.status_code == 404 and CJK.match(response.get_json()["error"])
    response = client.get("/print?bbox=1,2,3", headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"].startswith("范围 bbox")
    response = client.post("/api/layers")
    assert response.status_code == 405 and CJK.match(response.get_json()["error"])
    assert "GET" in response.headers["Allow"]
    response = client.get("/api/audit")
    assert response.status_code == 401 and response.get_json()["error"].startswith("请先登录")
    response = client_as(app, "viewer").get("/api/audit")
    assert response.status_code == 403 and response.get_json()["error"].startswith("当前账号")


def test_413_page(app):
    response = app.test_client().post("/login", data={"name": "x" * (2 * 1024 * 1024)},
                                      headers={"Accept": "text/html"})
    assert_error_page(response, 413)
    assert "请求内容过大" in response.get_data(as_text=True)


def test_429_page_with_retry_after(tmp_path):
    app = make_app(tmp_path / "i.sqlite", CLIENT_RATE=1, CLIENT_BURST=1)
    client = app.test_client()
    responses = [client.get("/nowhere-at-all") for _ in range(3)]
    refused = [r for r in responses if r.status_code == 429]
    assert refused, [r.status_code for r in responses]
    assert_error_page(refused[0], 429)
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert "请求过于频繁" in refused[0].get_data(as_text=True)


def test_500_and_503_pages(tmp_path, caplog):
    app = make_app(tmp_path / "i.sqlite")

    def broken():
        raise RuntimeError("a bug")

    def outage():
        raise ServiceUnavailable()

    app.view_functions["review.dashboard"] = broken
    app.view_functions["pages.index"] = outage
    client = client_as(app, "leader")
    response = client.get("/dashboard")
    assert_error_page(response, 500)
    assert "a bug" not in response.get_data(as_text=True)  # no traceback, no detail
    assert "服务器内部出错" in response.get_data(as_text=True)
    assert_error_page(client.get("/"), 503)
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 503 and response.get_json()["error"].startswith("服务暂时不可用")


def test_a_page_that_cannot_render_its_layout_still_answers_in_chinese(tmp_path, monkeypatch):
    app = make_app(tmp_path / "i.sqlite")
    app.jinja_env.globals["current_user"] = lambda: 1 / 0  # e.g. the database is down
    response = app.test_client().get("/nowhere")
    text = response.get_data(as_text=True)
    assert response.status_code == 404 and "页面不存在" in text
    assert '<a href="/">返回一张图</a>' in text
