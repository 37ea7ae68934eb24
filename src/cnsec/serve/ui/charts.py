"""Charts drawn on the server as SVG: no chart library, no script, nothing for the CSP to allow.

Each function returns markup for an ``<svg>`` that scales to its container (a viewBox, no fixed size).
Colours come from classes (``sev-high``, ``level-critical``) the stylesheet fills, never from style
attributes; every mark has a ``<title>`` (the browser's tooltip) and the figure an ``aria-label``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from cnsec.serve.ui.queries import SEVERITIES, DayCount, TrendPoint
from cnsec.serve.ui.render import day, when

WIDTH = 640
#: distinct line colours (series-0 …) before they repeat
SERIES = 4


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    cls: str
    title: str


def _svg(height: int, label: str, body: list[str], kind: str = "") -> Markup:
    # every piece of text in the markup went through escape() where it was made
    return Markup(f'<svg class="chart {kind}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}" '  # noqa: S704
                  f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
                  f'<title>{escape(label)}</title>{"".join(body)}</svg>')


def _nice_max(value: int) -> int:
    """A round top for an axis at or above ``value`` (1, 2, 5 × a power of ten)."""
    if value <= 0:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def hbars(bars: Sequence[Bar], label: str, top: int = 100) -> Markup:
    """Horizontal bars, each with its label above it (long asset names fit at a phone's width)."""
    row, pad = 50, 4
    height = max(1, len(bars)) * row + pad
    body = []
    span = WIDTH - 48
    for i, bar in enumerate(bars):
        y = pad + i * row
        w = max(2.0, span * min(bar.value, top) / top) if bar.value else 0.0
        body.append(f'<text class="label" x="0" y="{y + 20}">{escape(bar.label)}</text>'
                    f'<rect class="{escape(bar.cls)}" x="0" y="{y + 27}" width="{w:.1f}" height="16" rx="2">'
                    f'<title>{escape(bar.title)}</title></rect>'
                    f'<text class="value" x="{w + 6:.1f}" y="{y + 41}">{bar.value}</text>')
    if not bars:
        body.append('<text class="empty" x="0" y="24">nothing assessed yet</text>')
    return _svg(height, label, body)


def trend(points: Sequence[TrendPoint], label: str) -> Markup:
    """The summed risk score of each assessment, oldest to newest: one line per target, a dot per assessment."""
    height, left, right, top_pad, bottom = 240, 56, 12, 34, 44
    if not points:
        return _svg(60, label, ['<text class="empty" x="0" y="30">no finished assessment yet</text>'])
    top = _nice_max(max(p.total for p in points))
    plot_w, plot_h = WIDTH - left - right, height - top_pad - bottom
    targets = list(dict.fromkeys(p.target for p in points))
    series = {t: i % SERIES for i, t in enumerate(targets)}
    body = []
    for i, target in enumerate(targets[:SERIES]):  # the legend
        lx = left + i * (plot_w // min(len(targets), SERIES))
        body.append(f'<rect class="series-{i}" x="{lx}" y="6" width="12" height="12" rx="2"/>'
                    f'<text class="axis" x="{lx + 16}" y="17">{escape(target)}</text>')
    for i in range(5):  # grid lines and the axis values
        v = top * i // 4
        y = top_pad + plot_h - plot_h * i / 4
        body.append(f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                    f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v}</text>')
    step = plot_w / max(1, len(points) - 1)
    xy = [(left + (step * i if len(points) > 1 else plot_w / 2), top_pad + plot_h - plot_h * p.total / top)
          for i, p in enumerate(points)]
    for target in targets:
        line = [f"{x:.1f},{y:.1f}" for (x, y), p in zip(xy, points, strict=True) if p.target == target]
        if len(line) > 1:
            body.append(f'<polyline class="line series-{series[target]}" fill="none" points="{" ".join(line)}"/>')
    every = max(1, -(-len(points) // 5))  # at most about five date labels
    for i, ((x, y), p) in enumerate(zip(xy, points, strict=True)):
        levels = ", ".join(f"{n} {lv}" for lv, n in sorted(p.by_level.items()))
        body.append(f'<circle class="dot series-{series[p.target]}" cx="{x:.1f}" cy="{y:.1f}" r="5"><title>'
                    f'#{p.assessment_id} {escape(p.target)} {day(p.at)}: risk {p.total} '
                    f'({escape(levels) or "no risks"})</title></circle>')
        if (len(points) - 1 - i) % every == 0:
            body.append(f'<text class="axis" x="{x:.1f}" y="{height - bottom + 22}" text-anchor="middle">'
                        f'{day(p.at)[5:]}</text>')
    return _svg(height, label, body)


def per_day(days: Sequence[DayCount], label: str) -> Markup:
    """Alerts per day as columns stacked by severity, with a legend."""
    height, left, right, top_pad, bottom = 210, 40, 8, 32, 30
    top = _nice_max(max((d.total for d in days), default=0))
    plot_w, plot_h = WIDTH - left - right, height - top_pad - bottom
    body = []
    for i, sev in enumerate(SEVERITIES):
        lx = left + i * 112
        body.append(f'<rect class="sev-{sev}" x="{lx}" y="6" width="12" height="12" rx="2"/>'
                    f'<text class="axis" x="{lx + 16}" y="17">{sev}</text>')
    for i in range(3):
        v = top * i // 2
        y = top_pad + plot_h - plot_h * i / 2
        body.append(f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                    f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v}</text>')
    slot = plot_w / max(1, len(days))
    for i, d in enumerate(days):
        x, y = left + i * slot + slot * 0.15, top_pad + plot_h
        for sev in reversed(SEVERITIES):  # the most severe on top
            n = d.by_severity.get(sev, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            body.append(f'<rect class="sev-{sev}" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}">'
                        f'<title>{d.day.isoformat()}: {n} {sev}</title></rect>')
        if (len(days) - 1 - i) % 2 == 0 or len(days) <= 7:  # every other day, the last one always
            body.append(f'<text class="axis" x="{x + slot * 0.35:.1f}" y="{height - 8}" text-anchor="middle">'
                        f'{d.day.strftime("%m-%d")}</text>')
    return _svg(height, label, body)


@dataclass(frozen=True, slots=True)
class Mark:
    start: float
    end: float
    lane: str  # a severity
    title: str
    anchor: str  # the element the mark links to (#alert-…)


def timeline(marks: Sequence[Mark], label: str) -> Markup:
    """Alerts over time: one lane per severity, each alert a bar from first to last seen (a dot when they
    are the same moment), linking to the alert below."""
    if not marks:
        return Markup("")
    left, right, lane_h, top_pad = 92, 10, 26, 6
    lanes = [s for s in SEVERITIES if any(m.lane == s for m in marks)]
    height = top_pad + lane_h * len(lanes) + 26
    t0, t1 = min(m.start for m in marks), max(m.end for m in marks)
    span = max(t1 - t0, 60.0)
    plot_w = WIDTH - left - right

    def x(ts: float) -> float:
        return left + plot_w * (ts - t0) / span

    body = []
    for i, lane in enumerate(lanes):
        mid = top_pad + i * lane_h + lane_h / 2
        body.append(f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{mid:.1f}" y2="{mid:.1f}"/>'
                    f'<text class="axis" x="0" y="{mid + 4:.1f}">{lane}</text>')
    for m in marks:
        y = top_pad + lanes.index(m.lane) * lane_h + lane_h / 2
        x0, x1 = x(m.start), x(m.end)
        mark = (f'<circle class="sev-{m.lane}" cx="{x0:.1f}" cy="{y:.1f}" r="6">' if x1 - x0 < 6 else
                f'<rect class="sev-{m.lane}" x="{x0:.1f}" y="{y - 6:.1f}" width="{x1 - x0:.1f}" height="12" rx="6">')
        shape = "circle" if x1 - x0 < 6 else "rect"
        body.append(f'<a href="#{escape(m.anchor)}">{mark}<title>{escape(m.title)}</title></{shape}></a>')
    for ts, anchor in ((t0, "start"), (t0 + span, "end")):
        body.append(f'<text class="axis" x="{x(ts):.1f}" y="{height - 6}" text-anchor="{anchor}">'
                    f'{when(ts)}</text>')
    return _svg(height, label, body, "timeline")
