"""Hardening, round two: inputs that gave a 500, the Host header, private answers, and
bodies the production server reads (layers/web/hardening.py, layers/web/serving.py)."""

import json
import socket

import pytest

from bench.production import ProductionServer
from tests.conftest import TODAY, client_as, csrf_token, make_app

HUGE = "1" + "0" * 400  # an integer no float can hold


def assert_chinese_error(response, status):
    assert response.status_code == status, response.data[:300]
    body = response.get_json()
    assert body["ok"] is False and body["status"] == status
    assert "\u4e00" <= body["error"][0] <= "\u9fff", body["error"]  # Chinese first
    return body


@pytest.mark.parametrize("path,geometry", [
    ("/api/measure", '{"type": "LineString", "coordinates": [[%s, 36.66], [116.96, 36.67]]}'),
    ("/api/summary", '{"type": "Polygon", "coordinates": [[[116.96, 36.66], [%s, 36.67], '
                     '[116.961, 36.67], [116.96, 36.66]]]}'),
])
def test_a_coordinate_of_hundreds_of_digits_is_400_not_500(app, path, geometry):
    body = '{"geometry": %s}' % (geometry % HUGE)
    response = client_as(app, None).post(path, data=body, content_type="application/json")
    assert "有限数值" in assert_chinese_error(response, 400)["error"]


@pytest.mark.parametrize("target", [
    "/\r\nSet-Cookie: x=1", "/ok\nX-Evil: 1", "/\\evil.example", "/\\\\evil.example/", "/\x7f",
])
def test_next_with_line_breaks_or_backslashes_goes_home(app, target):
    client = app.test_client()
    name = f"nobody-{sum(map(ord, target))}"  # a name of its own: failures wait per name
    page = client.post("/login", data={"name": name, "password": "wrong-password",
                                       "next": target, "csrf_token": csrf_token(client)})
    assert page.status_code == 401
    assert b"Set-Cookie: x" not in page.data and b"X-Evil" not in page.data
    out = client.post("/logout", data={"next": target, "csrf_token": csrf_token(client)})
    assert out.status_code == 302 and out.headers["Location"] == "/"


def test_audit_since_before_year_one_is_400(app):
    admin = client_as(app, "admin")
    response = admin.get("/api/audit?since=0001-01-01T00:00:00%2B14:00")
    assert "不是有效的日期" in assert_chinese_error(response, 400)["error"]


def test_an_untrusted_host_is_400_in_chinese(app):
    response = app.test_client().get("/ogc/?f=json", headers={"Host": "evil.example"})
    assert "不是本服务的地址" in assert_chinese_error(response, 400)["error"]
    page = app.test_client().get("/", headers={"Host": "evil.example"})
    assert page.status_code == 400 and b"evil.example/" not in page.data


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:5000", "LOCALHOST", "[::1]:8080"])
def test_loopback_hosts_are_trusted(app, host):
    assert app.test_client().get("/api/layers", headers={"Host": host}).status_code == 200


def test_links_and_redirects_use_the_external_url(tmp_path):
    app = make_app(tmp_path / "inspections.sqlite", EXTERNAL_URL="https://map.example.gov.cn",
                   ALLOWED_HOSTS=["app-1.internal"])
    client = app.test_client()
    for host in ("app-1.internal", "localhost"):  # whatever Host a request carried
        landing = client.get("/ogc/?f=json", headers={"Host": host}).get_json()
        hrefs = [link["href"] for link in landing["links"]]
        assert hrefs and all(h.startswith("https://map.example.gov.cn/") for h in hrefs), hrefs
    assert client.get("/ogc/?f=json", headers={"Host": "map.example.gov.cn"}).status_code == 200
    assert client.get("/ogc/?f=json", headers={"Host": "evil.example"}).status_code == 400
    moved = client.get("/ogc", headers={"Host": "app-1.internal"})  # to /ogc/
    assert moved.status_code in (301, 308)
    assert moved.headers["Location"] in ("/ogc/", "https://map.example.gov.cn/ogc/")


def test_a_bad_external_url_stops_the_start(tmp_path):
    with pytest.raises(ValueError, match="EXTERNAL_URL"):
        make_app(tmp_path / "inspections.sqlite", EXTERNAL_URL="map.example.gov.cn/path")


@pytest.mark.parametrize("path,role", [
    ("/admin/users", "admin"), ("/api/audit", "admin"), ("/api/me", None), ("/api/csrf", None),
    ("/login", None), ("/api/layers", "inspector"), ("/inspect", "inspector"),
])
def test_private_answers_are_not_stored_by_caches(app, path, role):
    response = client_as(app, role).get(path)
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "no-store"


def test_public_answers_to_visitors_may_be_cached(app):
    response = client_as(app, None).get("/api/layers")
    assert "no-store" not in response.headers.get("Cache-Control", "")


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    db = tmp_path_factory.mktemp("bodies") / "inspections.sqlite"
    with ProductionServer(db, workers=1, config={"TODAY": TODAY}) as server:
        yield server


def raw(server, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(request)
        return s.makefile("rb").read()


def chunked(body: bytes, size: bytes | None = None) -> bytes:
    head = (b"POST /api/measure HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    return head + (size or b"%x" % len(body)) + b"\r\n" + body + b"\r\n0\r\n\r\n"


def test_a_chunked_body_over_the_limit_is_413(production):
    answer = raw(production, chunked(b" " * (1024 * 1024 + 10)))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["status"] == 413 and body["error"].startswith("请求内容过大"), body


def test_a_chunked_body_within_the_limit_is_read(production):
    geometry = {"type": "LineString", "coordinates": [[116.962, 36.668], [116.963, 36.669]]}
    answer = raw(production, chunked(json.dumps({"geometry": geometry}).encode()))
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


def test_a_malformed_chunk_size_is_400_in_chinese(production):
    answer = raw(production, chunked(b"{}", size=b"zz"))
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["ok"] is False and body["status"] == 400
    assert body["error"].startswith("请求格式错误"), body
