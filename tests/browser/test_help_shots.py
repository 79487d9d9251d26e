"""The screenshots of /help, made from the running application in headless Chromium.

`make help-shots` runs this file with HUAISHU_HELP_SHOTS=write: the screenshots go to
static/help/ (committed) with static/help/manifest.json, which keeps per screenshot a hash
of the templates, scripts and styles it shows (layers/help/sections.py SHOTS);
tests/help/test_help.py fails when one is missing or its hash no longer matches.
In an ordinary test run the same screenshots are made into a temporary directory: the
pages still show what each screenshot is meant to show, at the right size.
"""

from __future__ import annotations

import io
import json
import os

import pytest
from PIL import Image

from layers.help.sections import MANIFEST, REGENERATE, SHOTS, SHOTS_DIR, Shot, fingerprint
from tests.browser.conftest import log_in_page
from tests.browser.helpers import click_map
from tests.conftest import ensure_user, make_app
from tests.liveserver import LiveServer

WRITE = os.environ.get("HUAISHU_HELP_SHOTS") == "write"


@pytest.fixture(scope="module")
def help_server(tmp_path_factory):
    """A fresh app over the shipped data, so that the screenshots show the same records
    whatever other tests recorded."""
    app = make_app(tmp_path_factory.mktemp("help-shots") / "inspections.sqlite")
    for role in ("inspector", "leader", "admin"):
        ensure_user(app, f"help-{role}", role)
    with LiveServer(app) as server:
        yield server


def take(browser, base_url: str, shot: Shot) -> bytes:
    width, height = shot.viewport
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  is_mobile=width < 600, has_touch=width < 600)
    try:
        page = context.new_page()
        if shot.role is not None:
            log_in_page(page, base_url, f"help-{shot.role}")
        page.goto(base_url + shot.path)
        page.wait_for_function(shot.ready, timeout=30000)
        for action, selector, value in shot.actions:
            act(page, action, selector, value)
        page.wait_for_selector(shot.wait_for, state="attached", timeout=30000)
        page.wait_for_load_state("networkidle")
        if shot.scroll_to:
            page.locator(shot.scroll_to).scroll_into_view_if_needed()
        return page.screenshot()
    finally:
        context.close()


def act(page, action: str, selector: str, value: str) -> None:
    if action == "select":
        page.select_option(selector, value)
    elif action == "click":
        page.click(selector)
    elif action == "map":
        x, y = (float(v) for v in value.split(","))
        click_map(page, x, y)
    elif action == "file":
        name, text = value.split("|", 1)
        page.set_input_files(selector, files=[{"name": name, "mimeType": "text/csv",
                                               "buffer": text.encode("utf-8")}])
    else:
        raise ValueError(f"unknown action {action!r}")
    if action == "click" and selector.endswith("[value=validate]"):
        page.wait_for_load_state("load")


def small_png(raw: bytes) -> bytes:
    """The screenshot in 256 colours: a third of the bytes in git, and as legible."""
    image = Image.open(io.BytesIO(raw)).convert("RGB").quantize(256)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@pytest.mark.parametrize("shot", SHOTS, ids=lambda s: s.name)
def test_help_screenshot(browser, help_server, shot, tmp_path):
    png = small_png(take(browser, help_server.url, shot))
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == shot.viewport
        assert len(image.getcolors(256) or []) > 8, f"{shot.name}: the page looks empty"
    if not WRITE:
        (tmp_path / f"{shot.name}.png").write_bytes(png)
        return
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    (SHOTS_DIR / f"{shot.name}.png").write_bytes(png)
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}
    shots = manifest.get("shots", {})
    shots[shot.name] = {"path": shot.path, "role": shot.role, "viewport": list(shot.viewport),
                        "files": sorted(shot.files), "sha256": fingerprint(shot)}
    manifest = {"regenerate": REGENERATE,
                "shots": {s.name: shots[s.name] for s in SHOTS if s.name in shots}}
    MANIFEST.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
