"""static/js/common.js: the page scripts write values as catalogue/values.py does."""

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
