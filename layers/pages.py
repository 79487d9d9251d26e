"""HTML pages (zh-CN)."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

from .maps import MapOptions, overview_map, render_parts
from .web import get_store

bp = Blueprint("pages", __name__)


def map_options() -> MapOptions:
    return MapOptions(static_url=url_for("static", filename="").rstrip("/"),
                      api_url=url_for("api.list_layers").rsplit("/", 1)[0])


@bp.get("/")
def index():
    m = overview_map(get_store(), map_options())
    return render_template("map.html", title="中大槐树街道一张图", **render_parts(m))
