"""/inspect without a network: the service worker and the page shell it caches.

`/sw.js` is static/js/sw.js behind one line that names what to cache: the page
(/inspect) and every file it loads — the stylesheets, scripts and icon the rendered
page refers to (base.html's and inspect.html's tags, read from the page itself, so
the list cannot go stale when a template changes) and the images and fonts those
stylesheets refer to with `url(...)` (Leaflet's control icons). The line also carries
a version, a hash of those files and of sw.js: when any of them changes, the
browser sees a new worker, which caches the new files under the new version and
drops the old cache.

The worker is registered with the scope /inspect: it controls that page only (and
every request the page makes), no other page of the site. The saved area (the API's
answers) and the queue of records kept on the phone are the page's own
(static/js/inspect-offline.js).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Flask, current_app

PAGE = "/inspect"
WORKER_FILE = "js/sw.js"  # under the static folder
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""")


class _Assets(HTMLParser):
    """The URLs of the stylesheets, icons and scripts a page's HTML refers to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(str(a["src"]))
        elif tag == "link" and a.get("href") and set((a.get("rel") or "").split()) & {
                "stylesheet", "icon"}:
            self.urls.append(str(a["href"]))


def page_assets(html: str, static_url: str, static_folder: Path) -> list[str]:
    """The app's own files (under `static_url`) that a page loads: its tags' URLs, then
    what its stylesheets refer to, each once, in that order. A file that does not
    exist is an error: the page would not work offline either."""
    parser = _Assets()
    parser.feed(html)
    found: list[str] = []
    prefix = static_url.rstrip("/") + "/"
    for url in parser.urls:
        path = urlsplit(url).path
        if not path.startswith(prefix) or path in found:
            continue
        found.append(path)
        if path.endswith(".css"):
            for ref in CSS_URL.findall(static_file(path, prefix, static_folder).read_text(
                    encoding="utf-8")):
                if ref.startswith(("data:", "#", "http:", "https:", "//")):
                    continue
                target = urlsplit(urljoin(path, ref)).path
                if target.startswith(prefix) and target not in found:
                    static_file(target, prefix, static_folder)  # it exists
                    found.append(target)
    return found


def static_file(path: str, prefix: str, static_folder: Path) -> Path:
    file = static_folder / path[len(prefix):]
    if not file.is_file():
        raise FileNotFoundError(f"{path}: referred to by {PAGE} but not in {static_folder}")
    return file


def shell(app: Flask, render_page: Callable[[], str]) -> dict[str, Any]:
    """What the worker caches (the page and its files) and its version, computed once per
    process from the page as rendered (`render_page()`) and the files' contents."""
    known = app.extensions.get("offline_shell")
    if known is not None:
        return known
    folder = Path(str(app.static_folder))
    static_url = app.static_url_path or "/static"
    assets = page_assets(render_page(), static_url, folder)
    digest = hashlib.sha256((folder / WORKER_FILE).read_bytes())
    prefix = static_url.rstrip("/") + "/"
    for path in assets:
        digest.update(path.encode() + b"\n")
        digest.update(static_file(path, prefix, folder).read_bytes())
    result = {"version": digest.hexdigest()[:16], "page": PAGE, "assets": assets}
    app.extensions["offline_shell"] = result
    return result


def worker_script(render_page: Callable[[], str]) -> str:
    """/sw.js: the list and version, then static/js/sw.js."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = shell(app, render_page)
    source = (Path(str(app.static_folder)) / WORKER_FILE).read_text(encoding="utf-8")
    return ("self.HUAISHU_OFFLINE = " + json.dumps(config, ensure_ascii=False) + ";\n"
            + source)
