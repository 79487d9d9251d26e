"""The admins' layer data page (/admin/layers): download each layer, import a file.

The web face of `flask layers import/validate/export` (cli.py), for admins who
have no shell on the server: the same check (importer.check_import: every
problem, by row or feature, field and reason, before anything changes), the
same new version in the database, audited (importer.replace_layer), and the same
export writers (layer_export). Each layer's versions: list, compare two, download
any, restore one (a new version equal to it). Every server process follows a new
version within a second (reload.py). Uploads may be larger than other request
bodies: IMPORT_MAX_CONTENT_LENGTH (hardening.body_limit).
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue

from layers.accounts.sessions import current_user
from layers.catalogue.entries import CATALOGUE, Layer, layer_names
from layers.catalogue.validate import LayerDataError
from layers.data.importer import ImportReport, check_import, replace_layer
from layers.data.layer_export import EXPORT_FORMATS, ExportError, export_layer
from layers.data.limits import ImportLimits
from layers.data.reload import follow_now
from layers.data.sources import FORMATS, ReadOptions
from layers.errors import BadRequest
from layers.records import audit
from layers.stores.versions import OlderContent, VersionedLayers, diff
from layers.web.context import LOCAL_TIME_ZONE, get_inspections, today
from layers.web.hardening import body_limit

bp = Blueprint("layer_admin", __name__)

# The choices of the form's 坐标系; "other" takes an EPSG code typed in.
CRS_CHOICES = (
    ("", "文件自带(无则按 WGS84)"),
    ("EPSG:4326", "WGS84 经纬度 (EPSG:4326)"),
    ("EPSG:4490", "CGCS2000 经纬度 (EPSG:4490)"),
    ("EPSG:4548", "CGCS2000 高斯-克吕格 117°E (EPSG:4548)"),
    ("gcj02", "GCJ-02 (高德、腾讯、微信)"),
    ("bd09", "BD-09 (百度)"),
    ("other", "其他 EPSG 代码"),
)
FORMAT_LABELS = {"geojson": "GeoJSON", "gpkg": "GeoPackage", "csv": "CSV",
                 "shp": "Shapefile (zip)"}
MAX_PROBLEMS_SHOWN = 500  # a page with more rows helps nobody; the count says the rest
TEXT_FIELDS = ("lon_column", "lat_column", "id_column", "sheet", "source_layer", "crs_code")


def _history() -> VersionedLayers:
    history: VersionedLayers = current_app.extensions["layer_history"]
    return history


def local_time(at: str) -> str:
    """A version's moment (ISO UTC) as the page shows it: Jinan's time, to the minute."""
    moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return moment.astimezone(LOCAL_TIME_ZONE).strftime("%Y-%m-%d %H:%M")


def _layer_rows() -> list[dict[str, Any]]:
    store = current_app.extensions["layer_store"]
    rows = []
    for layer in CATALOGUE:
        loaded = store.get(layer.name)
        versions = _history().versions(layer.name)
        head = next((v for v in versions if v.version == loaded.version), None)
        rows.append({"layer": layer, "count": len(loaded), "version": loaded.version,
                     "changed": local_time(head.at) if head else "—",
                     "by": head.actor if head else "—"})
    return rows


def _page(status: int = 200, form: dict[str, str] | None = None,
          report: ImportReport | None = None, error: str | None = None, checked: bool = False
          ) -> tuple[str, int]:
    return render_template(
        "data/layers.html", title="图层数据", rows=_layer_rows(), crs_choices=CRS_CHOICES,
        formats=FORMAT_LABELS, accept=",".join(sorted(FORMATS)), form=form or {},
        report=report, error=error, checked=checked,
        problems=[(p.where or "整个文件", _field_label(report.layer, p.field), p.message)
                  for p in report.problems[:MAX_PROBLEMS_SHOWN]] if report else []), status


def _field_label(layer: Layer, name: str | None) -> str:
    """A field as the page names it: its Chinese label and its name (in the file)."""
    if not name:
        return ""
    label = {"id": "编号", "geometry": "几何"}.get(name) or layer.label(name)
    return name if label == name else f"{label} [{name}]"


@bp.get("/admin/layers")
def layers_page() -> tuple[str, int]:
    return _page()


def _read_form() -> tuple[dict[str, str], str, ReadOptions]:
    """The form's fields as typed (to show again), the layer, and the read options."""
    form = {k: request.form.get(k, "").strip() for k in ("layer", "crs", *TEXT_FIELDS)}
    if form["layer"] not in layer_names():
        raise BadRequest("请选择要导入的图层 (choose a layer)")
    crs_values = {value for value, _ in CRS_CHOICES}
    if form["crs"] not in crs_values:
        raise BadRequest("未知的坐标系选项 (unknown coordinate system choice)")
    crs = form["crs_code"] if form["crs"] == "other" else form["crs"]
    if form["crs"] == "other" and not crs:
        raise BadRequest("请填写 EPSG 代码,如 EPSG:4549 (give an EPSG code)")
    options = ReadOptions(crs=crs or None, lon_column=form["lon_column"] or None,
                          lat_column=form["lat_column"] or None,
                          id_column=form["id_column"] or "id", sheet=form["sheet"] or None,
                          source_layer=form["source_layer"] or None)
    return form, form["layer"], options


def _upload_name(filename: str | None) -> str:
    """The uploaded file's own name (reports name it), without any folder in it."""
    name = Path((filename or "").replace("\\", "/")).name.strip()
    name = "".join(c for c in name if c.isprintable())
    if Path(name).suffix.lower() not in FORMATS:
        raise BadRequest(f"请选择 {'、'.join(sorted(FORMATS))} 格式的文件 "
                         f"(the file must be one of {', '.join(sorted(FORMATS))})")
    return name[-120:]


@bp.post("/admin/layers/import")
@body_limit("IMPORT_MAX_CONTENT_LENGTH")
def import_file() -> ResponseReturnValue:
    action = request.form.get("action")
    form: dict[str, str] = {}
    try:
        if action not in ("validate", "import"):
            raise BadRequest("action 必须是 validate 或 import (action must be validate or import)")
        form, layer_name, options = _read_form()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise BadRequest("请选择要导入的文件 (choose a file)")
        name = _upload_name(upload.filename)
    except BadRequest as e:
        return _page(400, form, error=e.message)

    with tempfile.TemporaryDirectory(prefix="huaishu-import-") as folder:
        path = Path(folder) / name
        upload.save(path)
        records = get_inspections().last_inspections() if layer_name == "venues" else {}
        report = check_import(path, layer_name, current_app.extensions["layer_store"], options,
                              venues_with_records=list(records),
                              limits=ImportLimits.from_config(current_app.config))
    if not report.ok:
        return _page(400, form, report)
    if action == "validate":
        return _page(200, form, report, checked=True)
    user = current_user()
    try:
        made = replace_layer(report, _history(), user.name if user else "admin")
    except OlderContent as e:
        return _page(409, form, report, error=e.message)
    if made is None:
        flash(f"{name} 与图层「{report.layer.title}」的当前版本相同,未产生新版本。")
    else:
        flash(f"已将 {name} 的 {len(report.features)} 个要素导入图层「{report.layer.title}」,"
              f"成为版本 {made.version}(新增 {len(made.added)}、删除 {len(made.removed)}、"
              f"修改 {len(made.changed)});各服务器在 1 秒内提供新数据。")
        follow_now()
    for warning in report.warnings:
        flash(f"注意:{warning}")
    return redirect(url_for("layer_admin.layers_page"), 303)


def _version_arg(name: str, value: str | None) -> int | None:
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise BadRequest(f"版本号必须是正整数,而不是 {value[:20]!r} (version must be a number)")
    return int(value)


@bp.get("/admin/layers/<name>/versions")
def versions_page(name: str) -> tuple[str, int]:
    loaded = current_app.extensions["layer_store"].get(name)  # unknown: 404
    versions = _history().versions(name)
    compare = None
    a, b = (_version_arg(name, request.args.get(k)) for k in ("from", "to"))
    if a is not None and b is not None:
        _, old = _history().features(name, a)
        _, new = _history().features(name, b)
        added, removed, changed = diff(old, new)
        compare = {"from": a, "to": b, "added": added, "removed": removed, "changed": changed}
    return render_template(
        "data/versions.html", title=f"图层版本 · {loaded.layer.title}", layer=loaded.layer,
        head=loaded.version, versions=versions, local_time=local_time, compare=compare,
        formats=FORMAT_LABELS, max_ids=MAX_PROBLEMS_SHOWN,
        actions=audit.ACTIONS), 200


@bp.post("/admin/layers/<name>/restore")
def restore(name: str) -> ResponseReturnValue:
    layer = current_app.extensions["layer_store"].get(name).layer  # unknown: 404
    version = _version_arg(name, request.form.get("version"))
    if version is None:
        raise BadRequest("请选择要恢复的版本 (choose a version)")
    user = current_user()
    made = _history().restore(layer, version, user.name if user else "admin")
    if made is None:
        flash(f"版本 {version} 与当前版本内容相同,未产生新版本。")
    else:
        flash(f"已将图层「{layer.title}」恢复为版本 {version} 的内容,成为版本 {made.version}。")
        follow_now()
    return redirect(url_for("layer_admin.versions_page", name=name), 303)


@bp.get("/admin/layers/<name>/download")
def download(name: str) -> Response:
    loaded = current_app.extensions["layer_store"].get(name)  # unknown: 404
    fmt = request.args.get("format", "geojson")
    if fmt not in EXPORT_FORMATS:
        raise BadRequest(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    version = _version_arg(name, request.args.get("version"))
    suffix = today().isoformat()
    if version is not None and version != loaded.version:
        try:
            loaded = _history().loaded(loaded.layer, version)
        except LayerDataError as e:
            raise BadRequest(f"版本 {version} 已不符合当前的图层定义,无法导出:{e}") from None
    if version is not None:
        suffix = f"v{version}"
    download_name = f"{name}-{suffix}{EXPORT_FORMATS[fmt]}"
    with tempfile.TemporaryDirectory(prefix="huaishu-export-") as folder:
        output = Path(folder) / download_name
        try:
            export_layer(loaded, fmt, output)
        except ExportError as e:
            raise BadRequest(str(e)) from None
        data = output.read_bytes()  # the writers need a file (GDAL); the folder goes now
    return send_file(io.BytesIO(data), as_attachment=True, download_name=download_name)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
