"""Inline SVG charts for report.html: no library, no script, works offline and in print.

Inputs are already disclosure-controlled figures (None = suppressed, drawn as "[c]"; or, for a
district named in ``unavailable``, not available this run, drawn as "not available: <why>").
Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies); every
chart carries a <title> and an aria-label, and the report shows the same numbers in a table.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from html import escape

BLUE = "#0072B2"
INK = "#1d2733"
MUTED = "#5b6675"
GRID = "#e3e7ec"
STATUS_COLOURS = {
    "in_crisis": "#D55E00",
    "at_risk": "#E69F00",
    "struggling": "#F0E442",
    "coping": "#56B4E9",
    "comfortable": "#0072B2",
}
SUPPRESSED = "[c]"
NOT_AVAILABLE = "not available"


def _missing_text(name: str, unavailable: Mapping[str, str]) -> tuple[str, str]:
    """(what is drawn, its tooltip) for an item with no value: suppressed, or not available and why."""
    if name in unavailable:
        return f"{NOT_AVAILABLE}: {unavailable[name]}", f"{name}: {NOT_AVAILABLE} ({unavailable[name]} data)"
    return SUPPRESSED, f"{name}: suppressed"
FONT = "font-family='inherit'"
TEXT = 13  # every chart's text, in its own units: at 400 px (about 354 px of chart) still 10 px or more
NARROW = 440  # width of the bar charts: drawn at this size they fit a phone; on a desktop they grow a little
HALO = "paint-order='stroke' stroke='#ffffff' stroke-width='3' stroke-linejoin='round'"


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = step * magnitude
        if top >= value:
            return float(top)
    return float(10 * magnitude)


def _ticks(top: float) -> list[float]:
    """Round tick values from 0 to a nice maximum."""
    lead = top / 10 ** (len(str(int(top))) - 1) if top >= 1 else top * 10 ** len(str(int(1 / top)))
    parts = 4 if round(lead, 6) in (2.0, 20.0) else 5
    return [top * k / parts for k in range(parts + 1)]


def tick_number(value: float) -> str:
    """An axis label: whole numbers with separators, else as few decimals as needed."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='100%' "
        f"role='img' aria-label='{escape(label)}' class='chart'><title>{escape(label)}</title>"
        + "".join(body) + "</svg>"
    )


def bar_chart(
    items: Sequence[tuple[str, float | None]],
    label: str,
    fmt: Callable[[float], str],
    reference: float | None = None,
    reference_label: str = "County",
    highlight: str | None = None,
    tick_fmt: Callable[[float], str] = tick_number,
    unavailable: Mapping[str, str] | None = None,
) -> str:
    """Horizontal bars, largest first, suppressed items then items not available (name -> why, in
    ``unavailable``) last; a dashed line marks the reference (the county) value."""
    unavailable = unavailable or {}
    shown = sorted((i for i in items if i[1] is not None), key=lambda i: -(i[1] or 0))
    hidden = sorted((i for i in items if i[1] is None), key=lambda i: i[0] in unavailable)
    rows = [*shown, *hidden]
    left, right, bar, gap, top = 150, 64, 20, 8, 26
    width = NARROW
    height = top + len(rows) * (bar + gap) + 10
    span = width - left - right
    top_value = _nice_max(max([v for _, v in shown if v is not None] + [reference or 0.0, 0.0]))
    body: list[str] = []
    labels: list[str] = []
    for tick in _ticks(top_value):
        x = left + span * tick / top_value
        body.append(f"<line x1='{x:.1f}' y1='{top - 6}' x2='{x:.1f}' y2='{height - 6}' stroke='{GRID}'/>")
        body.append(f"<text x='{x:.1f}' y='{top - 10}' font-size='{TEXT}' fill='{MUTED}' text-anchor='middle' "
                    f"{FONT}>{escape(tick_fmt(tick))}</text>")
    for n, (name, value) in enumerate(rows):
        y = top + n * (bar + gap)
        weight = "700" if name == highlight else "400"
        body.append(f"<text x='{left - 8}' y='{y + bar - 5}' font-size='{TEXT}' fill='{INK}' text-anchor='end' "
                    f"font-weight='{weight}' {FONT}>{escape(name)}</text>")
        if value is None:
            text, tip = _missing_text(name, unavailable)
            body.append(f"<text x='{left + 4}' y='{y + bar - 5}' font-size='{TEXT}' fill='{MUTED}' {FONT}>"
                        f"{escape(text)}<title>{escape(tip)}</title></text>")
            continue
        w = max(span * value / top_value, 1.0)
        colour = INK if name == highlight else BLUE
        body.append(f"<rect x='{left}' y='{y}' width='{w:.1f}' height='{bar}' rx='2' fill='{colour}'>"
                    f"<title>{escape(name)}: {escape(fmt(value))}</title></rect>")
        labels.append(f"<text x='{left + w + 5:.1f}' y='{y + bar - 5}' font-size='{TEXT}' fill='{INK}' {HALO} "
                      f"{FONT}>{escape(fmt(value))}</text>")
    if reference is not None:
        x = left + span * reference / top_value
        body.append(f"<line x1='{x:.1f}' y1='{top - 4}' x2='{x:.1f}' y2='{height - 4}' stroke='{INK}' "
                    f"stroke-width='2' stroke-dasharray='5 3'/>")
        body.append(f"<text x='{min(x + 4, width - 4):.1f}' y='{height + 4}' font-size='{TEXT}' fill='{INK}' "
                    f"font-weight='700' text-anchor='{'end' if x + 4 > width - 160 else 'start'}' {FONT}>"
                    f"{escape(reference_label)} {escape(fmt(reference))}</text>")
        height += 14
    return _svg(width, height + 6, label, body + labels)


def status_mix_chart(rows: Sequence[tuple[str, dict[str, int | None], int | None]], label: str,
                     unavailable: Mapping[str, str] | None = None) -> str:
    """100% stacked bars of the resilience statuses per area; ``rows`` are (name, counts by
    status, households scored). Suppressed statuses are pooled into one hatched "[c]" part;
    areas named in ``unavailable`` (name -> why) are "not available"."""
    unavailable = unavailable or {}
    left, right, bar, gap, top = 150, 10, 20, 8, 54
    width = NARROW
    span = width - left - right
    height = top + len(rows) * (bar + gap) + 8
    body = [
        "<defs><pattern id='hatch' width='6' height='6' patternUnits='userSpaceOnUse' "
        "patternTransform='rotate(45)'><rect width='6' height='6' fill='#f1f3f5'/>"
        f"<line x1='0' y1='0' x2='0' y2='6' stroke='{MUTED}' stroke-width='1.5'/></pattern></defs>"
    ]
    legend = [(colour, status.replace("_", " ").capitalize()) for status, colour in STATUS_COLOURS.items()]
    legend.append(("url(#hatch)", f"{SUPPRESSED} suppressed"))
    for i, (fill, text) in enumerate(legend):  # three to a row: it fits a phone
        x, y = 4 + (i % 3) * (width // 3), 4 + (i // 3) * 20
        body.append(f"<rect x='{x}' y='{y}' width='13' height='13' fill='{fill}' stroke='#00000033'/>"
                    f"<text x='{x + 18}' y='{y + 11}' font-size='{TEXT}' fill='{INK}' {FONT}>{escape(text)}</text>")
    for n, (name, counts, total) in enumerate(rows):
        y = top + n * (bar + gap)
        body.append(f"<text x='{left - 8}' y='{y + bar - 6}' font-size='{TEXT}' fill='{INK}' text-anchor='end' "
                    f"{FONT}>{escape(name)}</text>")
        if not total:
            text = _missing_text(name, unavailable)[0] if total is None else "none scored"
            body.append(f"<text x='{left + 4}' y='{y + bar - 6}' font-size='{TEXT}' fill='{MUTED}' {FONT}>"
                        f"{escape(text)}</text>")
            continue
        x0 = float(left)
        total = max(total, sum(v for v in counts.values() if v))  # rounded parts may exceed the rounded total
        for status, colour in STATUS_COLOURS.items():
            value = counts.get(status)
            if not value:
                continue
            w = span * value / total
            body.append(f"<rect x='{x0:.1f}' y='{y}' width='{w:.1f}' height='{bar}' fill='{colour}'>"
                        f"<title>{escape(name)}, {escape(status.replace('_', ' '))}: {value / total:.0%}</title>"
                        "</rect>")
            x0 += w
        if any(counts.get(s) is None for s in STATUS_COLOURS) and x0 < left + span - 0.5:
            body.append(f"<rect x='{x0:.1f}' y='{y}' width='{left + span - x0:.1f}' height='{bar}' "
                        f"fill='url(#hatch)'><title>{escape(name)}: suppressed statuses</title></rect>")
    return _svg(width, height, label, body)


def line_chart(
    points: Sequence[tuple[dt.date, float | None]],
    label: str,
    fmt: Callable[[float], str],
    tick_fmt: Callable[[float], str] = tick_number,
) -> str:
    """A small trend line of one series across runs; suppressed runs leave a gap."""
    width, height, left, right, top, bottom = 340, 160, 60, 34, 18, 32
    values = [v for _, v in points if v is not None]
    top_value = _nice_max(max(values + [0.0]))
    span_x = width - left - right
    span_y = height - top - bottom
    body = []
    for tick in _ticks(top_value)[::2] if len(_ticks(top_value)) > 5 else _ticks(top_value):
        y = top + span_y * (1 - tick / top_value)
        body.append(f"<line x1='{left}' y1='{y:.1f}' x2='{width - right}' y2='{y:.1f}' stroke='{GRID}'/>")
        body.append(f"<text x='{left - 6}' y='{y + 4:.1f}' font-size='{TEXT - 1}' fill='{MUTED}' text-anchor='end' "
                    f"{FONT}>{escape(tick_fmt(tick))}</text>")
    n = len(points)
    coords: list[tuple[float, float] | None] = []
    for i, (day, value) in enumerate(points):
        x = left + (span_x * i / (n - 1) if n > 1 else span_x / 2)
        if i in (0, n - 1) or n <= 4:
            body.append(f"<text x='{x:.1f}' y='{height - 10}' font-size='{TEXT - 1}' fill='{MUTED}' "
                        f"text-anchor='middle' {FONT}>{day.strftime('%-d %b %y')}</text>")
        coords.append(None if value is None else (x, top + span_y * (1 - value / top_value)))
    path: list[str] = []
    for c in coords:
        if c is None:
            path.append("")
            continue
        path.append(f"{'L' if path and path[-1] else 'M'}{c[0]:.1f},{c[1]:.1f}")
    body.append(f"<path d='{' '.join(p for p in path if p)}' fill='none' stroke='{BLUE}' stroke-width='2.5'/>")
    for i, ((day, value), c) in enumerate(zip(points, coords, strict=True)):
        if c is not None and value is not None:
            body.append(f"<circle cx='{c[0]:.1f}' cy='{c[1]:.1f}' r='3.5' fill='{BLUE}'>"
                        f"<title>{day.isoformat()}: {escape(fmt(value))}</title></circle>")
            if i == n - 1:
                body.append(f"<text x='{c[0]:.1f}' y='{c[1] - 8:.1f}' font-size='{TEXT - 1}' font-weight='700' "
                            f"fill='{INK}' text-anchor='middle' {FONT}>{escape(fmt(value))}</text>")
    return _svg(width, height, label, body)


# Linkage charts (clerical review and model): match weights are log2 odds, from the manifest.
ORANGE = "#E69F00"
VERMILION = "#D55E00"


def _log_y(value: float, top: float, span: float) -> float:
    """Height of ``value`` on a log10 axis from 1 to ``top`` (0 for 0; a count of 1 gets a sliver)."""
    if value <= 0:
        return 0.0
    return max(span * math.log10(value) / math.log10(top), 2.0) if top > 1 else span


def weight_histogram_chart(
    bins: Sequence[tuple[float, float, int | None, int | None]],
    label: str,
    marks: Sequence[tuple[float, str]] = (),
    band: tuple[float, float] | None = None,
) -> str:
    """Match-weight distribution: per bin (weight_from, weight_to, links, pairs not linked), two bars side by
    side on a log scale (links blue, pairs not linked orange); None is a suppressed count ("[c]", a stub).
    ``marks``: vertical dashed lines (weight, text), e.g. the threshold; ``band``: the review band, shaded."""
    width, height, left, right, top, bottom = 640, 240, 56, 16, 30, 40
    span_x, span_y = width - left - right, height - top - bottom
    if not bins:
        return _svg(width, 60, label, [f"<text x='{left}' y='30' font-size='12' fill='{MUTED}' {FONT}>"
                                       "no candidate pairs</text>"])
    lo, hi = min(b[0] for b in bins), max(b[1] for b in bins)
    for weight, _ in marks:
        lo, hi = min(lo, weight), max(hi, weight)
    step = bins[0][1] - bins[0][0] or 1.0

    def x_of(weight: float) -> float:
        return left + span_x * (weight - lo) / ((hi - lo) or 1.0)

    top_count = 10.0
    while top_count < max([b[2] or 0 for b in bins] + [b[3] or 0 for b in bins] + [1]):
        top_count *= 10
    body: list[str] = []
    if band is not None:
        a, b = x_of(max(band[0], lo)), x_of(min(band[1], hi))
        if b > a:
            body.append(f"<rect x='{a:.1f}' y='{top}' width='{b - a:.1f}' height='{span_y}' fill='#f1f3f5'>"
                        "<title>review band</title></rect>")
            body.append(f"<text x='{(a + b) / 2:.1f}' y='{top + 12}' font-size='10' fill='{MUTED}' "
                        f"text-anchor='middle' {FONT}>review band</text>")
    power = 1.0
    while power <= top_count:
        y = top + span_y - _log_y(power, top_count, span_y)
        body.append(f"<line x1='{left}' y1='{y:.1f}' x2='{width - right}' y2='{y:.1f}' stroke='{GRID}'/>")
        body.append(f"<text x='{left - 6}' y='{y + 4:.1f}' font-size='10' fill='{MUTED}' text-anchor='end' "
                    f"{FONT}>{tick_number(power)}</text>")
        power *= 10
    bar = max(span_x * step / ((hi - lo) or 1.0) / 2 - 1, 1.0)
    for start, end, links, others in bins:
        for n, (count, colour, what) in enumerate(((links, BLUE, "linked"), (others, ORANGE, "not linked"))):
            x = x_of(start) + n * (bar + 1) + 0.5
            tip = f"weight {start:g} to {end:g}: {what} {SUPPRESSED if count is None else f'{count:,}'}"
            h = 4.0 if count is None else _log_y(count, top_count, span_y)
            fill = "url(#hatch)" if count is None else colour
            if count == 0:
                continue
            body.append(f"<rect x='{x:.1f}' y='{top + span_y - h:.1f}' width='{bar:.1f}' height='{h:.1f}' "
                        f"fill='{fill}'><title>{escape(tip)}</title></rect>")
    tick_step = next(t for t in (1, 2, 5, 10, 20, 50, 100, 1e9) if (hi - lo) / t <= 12)
    for k in range(math.ceil(lo / tick_step), math.floor(hi / tick_step) + 1):
        weight = k * tick_step
        body.append(f"<text x='{x_of(weight):.1f}' y='{height - bottom + 14}' font-size='10' fill='{MUTED}' "
                    f"text-anchor='middle' {FONT}>{weight:g}</text>")
    body.append(f"<text x='{left + span_x / 2:.1f}' y='{height - 6}' font-size='11' fill='{INK}' "
                f"text-anchor='middle' {FONT}>match weight (log2 odds)</text>")
    for weight, text in marks:
        x = x_of(weight)
        body.append(f"<line x1='{x:.1f}' y1='{top - 4}' x2='{x:.1f}' y2='{top + span_y}' stroke='{INK}' "
                    f"stroke-width='1.5' stroke-dasharray='5 3'/>")
        body.append(f"<text x='{x + 4:.1f}' y='{top - 8}' font-size='10' fill='{INK}' {FONT}>{escape(text)}</text>")
    legend = [(BLUE, "linked"), (ORANGE, "candidate pairs not linked")]
    x0 = float(left)
    for colour, text in legend:
        body.append(f"<rect x='{x0:.1f}' y='4' width='12' height='12' fill='{colour}'/>"
                    f"<text x='{x0 + 16:.1f}' y='14' font-size='11' fill='{INK}' {FONT}>{escape(text)}</text>")
        x0 += 30 + 7 * len(text)
    defs = ("<defs><pattern id='hatch' width='6' height='6' patternUnits='userSpaceOnUse' "
            "patternTransform='rotate(45)'><rect width='6' height='6' fill='#f1f3f5'/>"
            f"<line x1='0' y1='0' x2='0' y2='6' stroke='{MUTED}' stroke-width='1.5'/></pattern></defs>")
    return _svg(width, height, label, [defs, *body])


def match_weights_chart(groups: Sequence[tuple[str, Sequence[tuple[str, float, str]]]], label: str) -> str:
    """The model's match weights, as Splink's match weights chart: for each comparison (a heading) each
    level's weight as a bar from 0, right (blue) for evidence of a match, left (vermilion) against;
    ``groups``: (heading, [(level label, weight, tooltip)])."""
    width, left, right, bar, gap, top = 640, 280, 50, 14, 4, 24
    rows = sum(1 + len(levels) for _, levels in groups)
    height = top + rows * (bar + gap) + 24
    limit = max([abs(w) for _, levels in groups for _, w, _ in levels] + [1.0])
    limit = _nice_max(limit)
    span = (width - left - right) / 2
    zero = left + span
    body = [f"<line x1='{zero:.1f}' y1='{top - 6}' x2='{zero:.1f}' y2='{height - 20}' stroke='{INK}'/>"]
    for tick in (-limit, -limit / 2, limit / 2, limit):
        x = zero + span * tick / limit
        body.append(f"<line x1='{x:.1f}' y1='{top - 6}' x2='{x:.1f}' y2='{height - 20}' stroke='{GRID}'/>")
        body.append(f"<text x='{x:.1f}' y='{top - 10}' font-size='10' fill='{MUTED}' text-anchor='middle' {FONT}>"
                    f"{tick:+g}</text>")
    y = top
    for heading, levels in groups:
        body.append(f"<text x='8' y='{y + bar - 3}' font-size='12' font-weight='700' fill='{INK}' {FONT}>"
                    f"{escape(heading)}</text>")
        y += bar + gap
        for text, weight, tip in levels:
            short = text if len(text) <= 44 else text[:43] + "…"
            body.append(f"<text x='{left - 8}' y='{y + bar - 3}' font-size='11' fill='{INK}' text-anchor='end' "
                        f"{FONT}>{escape(short)}<title>{escape(text)}</title></text>")
            w = span * min(abs(weight), limit) / limit
            x = zero if weight >= 0 else zero - w
            colour = BLUE if weight >= 0 else VERMILION
            body.append(f"<rect x='{x:.1f}' y='{y}' width='{max(w, 1.0):.1f}' height='{bar}' fill='{colour}'>"
                        f"<title>{escape(tip)}</title></rect>")
            tx = zero + w + 4 if weight >= 0 else zero - w - 4
            body.append(f"<text x='{tx:.1f}' y='{y + bar - 3}' font-size='10' fill='{INK}' {HALO} "
                        f"text-anchor='{'start' if weight >= 0 else 'end'}' {FONT}>{weight:+.1f}</text>")
            y += bar + gap
    body.append(f"<text x='{zero:.1f}' y='{height - 4}' font-size='11' fill='{INK}' text-anchor='middle' {FONT}>"
                "match weight (log2 of m/u): right for a match, left against</text>")
    return _svg(width, height, label, body)
