"""The Content-Security-Policy as Chromium enforces it on the map page."""


def test_map_page_runs_under_the_csp_and_injected_script_does_not(live_server, page):
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)

    page.goto(live_server.url + "/")
    page.wait_for_function("() => document.body.dataset.layersLoaded === 'true'", timeout=20000)

    assert violations == []
    # Script that reaches the page some other way than the app's own is refused.
    ran = page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.injectedRan = true';
        document.body.appendChild(s);
        return window.injectedRan === true;
    }""")
    assert ran is False
    assert any("Content Security Policy" in v for v in violations)
