"""The per-client budget of visitors and viewers (layers/accounts/budget.py) and the
client address behind trusted proxies (layers/web/hardening.py: ClientAddress)."""

import threading

import pytest

from layers.accounts.budget import Budget
from tests.conftest import client_as, make_app

A, B = "198.51.100.7", "198.51.100.8"  # two visitors (documentation addresses)


@pytest.fixture(scope="module")
def budget_app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("budget") / "inspections.sqlite",
                    CLIENT_RATE=2, CLIENT_BURST=5, CLIENT_CONCURRENCY=2)


def get(app, path, address, role=None, **headers):
    client = client_as(app, role)
    return client.get(path, environ_base={"REMOTE_ADDR": address}, headers=headers)


def test_a_visitor_over_the_burst_gets_429_with_retry_after(budget_app):
    address = "198.51.100.20"
    answers = [get(budget_app, "/api/layers", address) for _ in range(8)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    refused = answers[5]
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["ok"] is False and body["status"] == 429
    assert body["error"].startswith("请求过于频繁")
    assert int(refused.headers["Retry-After"]) >= 1


def test_one_visitors_budget_is_not_anothers(budget_app):
    for _ in range(8):
        get(budget_app, "/api/layers", "198.51.100.30")
    assert get(budget_app, "/api/layers", "198.51.100.31").status_code == 200


def test_logged_in_staff_and_static_files_are_not_counted(budget_app):
    address = "198.51.100.40"
    for _ in range(8):
        assert get(budget_app, "/api/layers", address, role="inspector").status_code == 200
    for _ in range(8):
        response = get(budget_app, "/static/favicon.svg", address)
        assert response.status_code == 200
        response.close()  # a file response
    assert get(budget_app, "/api/layers", address).status_code == 200


def test_the_bucket_refills_at_the_rate():
    budget = Budget(rate=2, burst=3, concurrency=10)
    now = 1000.0
    for _ in range(3):
        assert budget.take(A, now) is None
        budget.give_back(A)
    assert budget.take(A, now) == 1  # empty: one token in half a second, said as 1 s
    assert budget.take(A, now + 0.5) is None
    budget.give_back(A)
    assert budget.take(B, now) is None  # another address, another bucket


def test_concurrency_is_bounded_per_client():
    budget = Budget(rate=100, burst=100, concurrency=2)
    assert budget.take(A, 0) is None and budget.take(A, 0) is None
    assert budget.take(A, 0) == 1  # a third at once
    budget.give_back(A)
    assert budget.take(A, 0) is None


def test_budget_is_thread_safe():
    budget = Budget(rate=0.001, burst=1000, concurrency=10_000)
    let_through = []

    def spend():
        for _ in range(100):
            if budget.take(A) is None:
                let_through.append(1)

    threads = [threading.Thread(target=spend) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(let_through) == 1000  # exactly the burst, never more


@pytest.fixture(scope="module")
def proxied_app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("proxy") / "inspections.sqlite",
                    TRUSTED_PROXIES=["10.0.0.0/8"], CLIENT_RATE=2, CLIENT_BURST=3,
                    CLIENT_CONCURRENCY=2)


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(proxied_app):
    proxy = "10.1.2.3"
    for _ in range(5):
        get(proxied_app, "/api/layers", proxy, **{"X-Forwarded-For": "198.51.100.50"})
    limited = get(proxied_app, "/api/layers", proxy, **{"X-Forwarded-For": "198.51.100.50"})
    assert limited.status_code == 429
    other = get(proxied_app, "/api/layers", proxy, **{"X-Forwarded-For": "198.51.100.51"})
    assert other.status_code == 200


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(proxied_app):
    attacker = "203.0.113.9"
    for n in range(5):  # a new forged address each time: still one budget, the peer's
        get(proxied_app, "/api/layers", attacker, **{"X-Forwarded-For": f"198.51.100.{n}"})
    assert get(proxied_app, "/api/layers", attacker,
               **{"X-Forwarded-For": "198.51.100.99"}).status_code == 429


def test_the_client_writes_only_to_the_left_of_its_proxy(proxied_app):
    """A client behind the proxy forges a left-most entry: the proxy's entry counts."""
    proxy = "10.9.9.9"
    for n in range(5):
        get(proxied_app, "/api/layers", proxy,
            **{"X-Forwarded-For": f"192.0.2.{n}, 198.51.100.60"})
    assert get(proxied_app, "/api/layers", proxy,
               **{"X-Forwarded-For": "192.0.2.77, 198.51.100.60"}).status_code == 429


def test_a_bad_trusted_proxy_stops_the_start(tmp_path):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        make_app(tmp_path / "inspections.sqlite", TRUSTED_PROXIES=["not-an-address"])
