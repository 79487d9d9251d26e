"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

`playwright install` cannot work offline, so the tests use the system browser.

Pages run under the app's Content-Security-Policy, which forbids eval: give
`page.wait_for_function` an arrow function (`"() => ..."`), not a bare
expression, which Playwright may re-evaluate with eval while polling (EvalError).
"""

from pathlib import Path

import pytest

from tests.conftest import PASSWORD, ensure_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def log_in_page(page, base_url: str, name: str, password: str = PASSWORD) -> None:
    """Log the browser page in as a person does: the form of /login (with its CSRF token)."""
    page.goto(base_url + "/login?next=/")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click(".hs-login button[type=submit]")
    assert page.locator(".hs-account-name").count() == 1, page.content()[:2000]


@pytest.fixture
def page(browser, request):
    """A desktop page; logged in (through /login on live_server) with the role a test
    module names in PAGE_ROLE (e.g. the leaders' pages: PAGE_ROLE = "leader")."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    role = getattr(request.module, "PAGE_ROLE", None)
    if role is not None:
        server = request.getfixturevalue("live_server")
        ensure_user(request.getfixturevalue("live_app"), f"browser-{role}", role)
        log_in_page(page, server.url, f"browser-{role}")
    yield page
    context.close()


# An inspector's phone (the inspectors' page tests).
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True,
         "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.requests = []
    page.errors = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


@pytest.fixture
def screenshot_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
