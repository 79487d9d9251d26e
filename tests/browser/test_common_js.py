"""static/js/common.js: the page scripts write values as catalogue/values.py does."""

import re

from layers.catalogue.values import format_value

# (value, unit): booleans, lists, grouped numbers, units, "%" without a space, text.
SAMPLES = [
    (True, ""), (False, ""), (["可回收物", "厨余垃圾"], ""), (12345.678, ""), (0.5, "亩"),
    (3, "处"), (130, "户"), (5.001, ""), (-1234.5, "万元"), (12.5, "%"), (0, "个"),
    ("裕园便利店", ""), ("<b>x</b>", ""),
]


def test_values_read_the_same_on_the_page_and_on_the_server(live_server, page):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server.url + "/ogc/?f=html")
    shown = page.evaluate("(samples) => samples.map(([v, u]) => HS.formatValue(v, u))",
                          [list(s) for s in SAMPLES])
    assert shown == [format_value(v, u) for v, u in SAMPLES]
    empty_and_escaped = page.evaluate(
        "() => [HS.formatValue(null), HS.formatValue(''), HS.el('b', '<i>x</i>').innerHTML]")
    assert empty_and_escaped == [None, None, "&lt;i&gt;x&lt;/i&gt;"]
    assert errors == []


def test_a_submission_key_is_random_and_sent_as_idempotency_key(live_server, page):
    page.goto(live_server.url + "/ogc/?f=html")
    keys = page.evaluate("() => [HS.idempotencyKey(), HS.idempotencyKey()]")
    assert all(re.fullmatch("[0-9a-f]{32}", key) for key in keys) and keys[0] != keys[1]
    page.route("**/api/key-echo", lambda route: route.fulfill(status=200, json={"ok": True}))
    with page.expect_request("**/api/key-echo") as sent:
        answer = page.evaluate("() => HS.postJson('/api/key-echo', {a: 1}, null, 'k-123')")
    assert answer == {"ok": True}
    assert sent.value.headers["idempotency-key"] == "k-123"
    with page.expect_request("**/api/key-echo") as sent:
        page.evaluate("() => HS.postJson('/api/key-echo', {a: 1})")
    assert "idempotency-key" not in sent.value.headers
