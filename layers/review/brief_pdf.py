"""The brief of a parcel or project site as a one-page A4 PDF (reportlab).

reportlab is pure Python with wheels, needs no system library and no browser,
so the PDF works offline on any machine that runs the app. Chinese text uses
the PDF standard CJK font STSong-Light (Adobe-GB1): every PDF reader ships or
substitutes it, so no font file has to be installed or embedded. The map is the
same drawing as the print view's (layers/review/brief.py), at the same scale.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from layers.basemaps.underlay import FAILED_MESSAGE, PlacedTile, Underlay, plain_text
from layers.catalogue.values import format_value
from layers.review.brief import Brief, MapExtract, summary_lines

FONT = "STSong-Light"
MARGIN = 12 * mm
INK = colors.HexColor("#222222")
GREY = colors.HexColor("#666666")
RULE = colors.HexColor("#bbbbbb")
HEAD_FILL = colors.HexColor("#e8eef5")

pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BASE = ParagraphStyle("base", fontName=FONT, fontSize=8.5, leading=11.5, textColor=INK,
                       wordWrap="CJK")
TITLE = ParagraphStyle("title", parent=_BASE, fontSize=16, leading=20)
SUBTITLE = ParagraphStyle("subtitle", parent=_BASE, fontSize=8.5, textColor=GREY)
HEADING = ParagraphStyle("heading", parent=_BASE, fontSize=10.5, leading=14, spaceBefore=4,
                         spaceAfter=2)
SMALL = ParagraphStyle("small", parent=_BASE, fontSize=7.5, leading=10, textColor=GREY)


def brief_pdf(brief: Brief, underlay: Underlay | None = None,
              images: dict[PlacedTile, bytes] | None = None,
              basemap_failed: bool = False) -> bytes:
    """The brief as PDF bytes; with `underlay` and its tiles' `images`, on that basemap
    (`basemap_failed`: one was asked for but its tiles could not be had)."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN, title=brief.title,
                            author="中大槐树街道", subject="地块与项目简报")
    doc.build(story(brief, underlay, images or {}, basemap_failed))
    return out.getvalue()


def story(brief: Brief, underlay: Underlay | None = None,
          images: dict[PlacedTile, bytes] | None = None,
          basemap_failed: bool = False) -> list[Flowable]:
    around = brief.around
    basemap_note = []
    if basemap_failed:
        basemap_note = [Paragraph(_t(FAILED_MESSAGE), SMALL)]
    elif underlay is not None:
        basemap_note = [Paragraph(_t(f"底图:{underlay.name} {plain_text(underlay.attribution)}"),
                                  SMALL)]
    return [
        Paragraph(_t(brief.title), TITLE),
        Paragraph(_t(subtitle(brief)), SUBTITLE),
        Spacer(0, 3 * mm),
        _facts_table(brief.facts),
        Spacer(0, 3 * mm),
        MapFlowable(brief.extract, underlay, images or {}),
        *basemap_note,
        LegendFlowable(brief.extract),
        Paragraph(_t(f"周边 {brief.distance_m:g} 米范围内"), HEADING),
        *_surroundings(around),
        Spacer(0, 2 * mm),
        Paragraph(_t(around["households_note"] + " 位置与形状为示意,数字取自2022年工作总结及"
                     "街道台账。"), SMALL),
    ]


def subtitle(brief: Brief) -> str:
    return (f"中大槐树街道 | {brief.layer_title} | 周边范围 {brief.distance_m:g} 米 | "
            f"生成于 {brief.generated.isoformat()}")


def _t(text: Any) -> str:
    """Text from data inside a Paragraph: escaped, since Paragraph parses markup."""
    return escape(str(text))


def _table(data: list[list[Any]], widths: list[float], header: bool = True) -> Table:
    cells = [[Paragraph(_t(c), _BASE) if isinstance(c, str) else c for c in row] for row in data]
    table = Table(cells, colWidths=widths, hAlign="LEFT")
    style = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL))
    table.setStyle(TableStyle(style))
    return table


def _facts_table(facts: list[tuple[str, str]]) -> Table:
    """Label/value pairs, two pairs a row."""
    rows = []
    for i in range(0, len(facts), 2):
        pair = facts[i:i + 2]
        row: list[Any] = []
        for label, text in pair:
            row += [Paragraph(_t(label), SMALL), _t(text)]
        rows.append(row + ["", ""] * (2 - len(pair)))
    return _table(rows, [26 * mm, 67 * mm, 26 * mm, 67 * mm], header=False)


def _surroundings(around: dict[str, Any]) -> list[Flowable]:
    out: list[Flowable] = []
    communities = around["communities"]
    if communities:
        rows: list[list[Any]] = [["社区", "户数(示意)", "范围内面积占比", "受影响户数(估算)"]]
        rows += [[c["name"], format_value(c["households"], "户"), f"{c['share_pct']:.1f}%",
                  format_value(c["households_estimate"], "户")] for c in communities]
        rows.append(["合计", "", "", format_value(around["households_estimate"], "户")])
        out.append(_table(rows, [46 * mm, 40 * mm, 50 * mm, 50 * mm]))
    out.append(Spacer(0, 2 * mm))
    out.append(_table([[Paragraph(_t(k), SMALL), v] for k, v in summary_lines(around)],
                      [26 * mm, 160 * mm], header=False))
    return out


class LegendFlowable(Flowable):
    """The map's legend: coloured swatches and labels, in rows."""

    COLUMN_MM = 31.0
    ROW_MM = 4.2

    def __init__(self, extract: MapExtract):
        super().__init__()
        self.entries = extract.legend
        self.per_row = int(extract.width_mm // self.COLUMN_MM)
        self.width = extract.width_mm * mm
        rows = -(-len(self.entries) // self.per_row)
        self.height = (rows * self.ROW_MM + 1.5) * mm

    def draw(self) -> None:
        c: Canvas = self.canv
        for n, entry in enumerate(self.entries):
            row, column = divmod(n, self.per_row)
            x = column * self.COLUMN_MM * mm
            y = self.height - (row + 1) * self.ROW_MM * mm
            c.saveState()
            c.setStrokeColor(colors.HexColor(entry.stroke))
            c.setFillColor(colors.HexColor(entry.fill or entry.stroke))
            c.setLineWidth(0.8 if entry.kind == "line" else 0.6)
            if entry.dash:
                c.setDash([2, 1.5])
            if entry.kind == "area":
                c.rect(x, y, 4 * mm, 2.6 * mm, stroke=1, fill=1)
            elif entry.kind == "point":
                c.circle(x + 1.6 * mm, y + 1.3 * mm, 1.3 * mm, stroke=1, fill=1)
            else:
                c.line(x, y + 1.3 * mm, x + 4 * mm, y + 1.3 * mm)
            c.restoreState()
            c.setFillColor(GREY)
            c.setFont(FONT, 7.5)
            c.drawString(x + 5.5 * mm, y + 0.4 * mm, entry.label)


class MapFlowable(Flowable):
    """The map extract at its size in millimetres, with scale bar and north arrow."""

    def __init__(self, extract: MapExtract, underlay: Underlay | None = None,
                 images: dict[PlacedTile, bytes] | None = None):
        super().__init__()
        self.extract = extract
        self.underlay = underlay
        self.images = images or {}
        self.width = extract.width_mm * mm
        self.height = extract.total_height_mm * mm  # the map, and under it the strip
        self.map_bottom = extract.strip_mm * mm

    def _xy(self, x: float, y: float) -> tuple[float, float]:
        return x * mm, (self.extract.total_height_mm - y) * mm

    def draw(self) -> None:
        c: Canvas = self.canv
        map_height = self.height - self.map_bottom
        c.saveState()
        frame = c.beginPath()
        frame.rect(0, self.map_bottom, self.width, map_height)
        c.clipPath(frame, stroke=0, fill=0)
        c.setFillColor(colors.white)
        c.rect(0, self.map_bottom, self.width, map_height, stroke=0, fill=1)
        if self.underlay is not None:
            self._basemap(self.underlay)
        for mark in self.extract.marks:
            self._mark(mark)
        for label in self.extract.labels:
            self._label(label)
        c.restoreState()
        c.setStrokeColor(INK)
        c.setLineWidth(0.6)
        c.rect(0, self.map_bottom, self.width, map_height, stroke=1, fill=0)
        # In the strip under the map: they cover nothing drawn on it.
        self._scale_bar()
        self._north_arrow()

    def _basemap(self, underlay: Underlay) -> None:
        c: Canvas = self.canv
        for tile in underlay.tiles:
            body = self.images.get(tile)
            if body is None:
                continue
            x, y = self._xy(tile.x_mm, tile.y_mm + tile.height_mm)
            c.drawImage(ImageReader(io.BytesIO(body)), x, y, tile.width_mm * mm,
                        tile.height_mm * mm, mask="auto")

    def _mark(self, mark: Any) -> None:
        c: Canvas = self.canv
        c.saveState()
        c.setStrokeColor(colors.HexColor(mark.stroke))
        c.setLineWidth(mark.stroke_mm * mm)
        c.setDash([d * mm for d in mark.dash_mm] if mark.dash_mm else [])
        fill = mark.fill is not None and mark.fill_opacity > 0
        if fill:
            c.setFillColor(colors.HexColor(mark.fill))
            c.setFillAlpha(mark.fill_opacity)
        if mark.kind == "point":
            x, y = self._xy(*mark.parts[0][0])
            c.circle(x, y, mark.radius_mm * mm, stroke=1, fill=int(fill))
        else:
            path = c.beginPath()
            for part in mark.parts:
                path.moveTo(*self._xy(*part[0]))
                for point in part[1:]:
                    path.lineTo(*self._xy(*point))
                if mark.kind == "area":
                    path.close()
            c.drawPath(path, stroke=1, fill=int(fill and mark.kind == "area"), fillMode=0)
        c.restoreState()

    def _label(self, label: Any) -> None:
        """Text on a light box, centred on its point, turned along its road."""
        c: Canvas = self.canv
        size = label.size_mm * mm
        width = pdfmetrics.stringWidth(label.text, FONT, size)
        x, y = self._xy(label.x, label.y)
        c.saveState()
        c.translate(x, y)
        c.rotate(-label.angle)
        c.setFillColor(colors.white)
        c.setFillAlpha(0.75)
        c.rect(-width / 2 - 0.6, -size * 0.55, width + 1.2, size * 1.1, stroke=0, fill=1)
        c.setFillAlpha(1)
        c.setFillColor(colors.HexColor(label.color))
        c.setFont(FONT, size)
        c.drawString(-width / 2, -size * 0.36, label.text)
        c.restoreState()

    def _scale_bar(self) -> None:
        bar = self.extract.scale_bar
        if bar is None:
            return
        c: Canvas = self.canv
        x0, y0, h = 5 * mm, 3 * mm, 1.6 * mm
        half = bar.length_mm / 2 * mm
        c.setStrokeColor(INK)
        c.setLineWidth(0.5)
        c.setFillColor(INK)
        c.rect(x0, y0, half, h, stroke=1, fill=1)
        c.setFillColor(colors.white)
        c.rect(x0 + half, y0, half, h, stroke=1, fill=1)
        c.setFillColor(INK)
        c.setFont(FONT, 7)
        c.drawCentredString(x0, y0 + h + 1 * mm, "0")
        c.drawCentredString(x0 + half, y0 + h + 1 * mm, f"{bar.length_m / 2:g}")
        c.drawCentredString(x0 + 2 * half, y0 + h + 1 * mm, f"{bar.length_m}米")
        c.drawString(x0 + 2 * half + 5 * mm, y0, f"1:{bar.ratio:,}")

    def _north_arrow(self) -> None:
        c: Canvas = self.canv
        x, y = self.width - 10 * mm, 2.5 * mm
        c.setFillColor(INK)
        path = c.beginPath()
        path.moveTo(x, y + 7 * mm)
        path.lineTo(x - 2.2 * mm, y)
        path.lineTo(x, y + 1.7 * mm)
        path.lineTo(x + 2.2 * mm, y)
        path.close()
        c.drawPath(path, stroke=0, fill=1)
        c.setFont(FONT, 8)
        c.drawString(x + 4 * mm, y + 1 * mm, "北")
