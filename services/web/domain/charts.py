"""Charts drawn on the server as SVG (pure: figures in, markup out).

Why SVG from here and not a JavaScript chart library: the chart is in the page as it is served
(nothing to load, nothing that fails without JavaScript, no dependency to keep up to date, nothing
for the Content-Security-Policy to allow), it prints as sharply as the text, and it is accessible by
construction — `role="img"` named by its `<title>` and described by its `<desc>` (every figure in
words), with the same figures in a table beside it. Colour never carries meaning alone: each bar
is labelled with its value, bars over a limit are hatched as well as darker, and the limit is a
labelled dashed line. The colours have at least 3:1 contrast with the white background (WCAG
1.4.11), the text at least 4.5:1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 48, 56  # the limit's label above the plot
INK = "#0b0c0c"  # text and axes: 19.8:1 on white
GRID = "#b1b4b6"  # decorative grid lines
BLUE = "#1d70b8"  # bars: 5.2:1 on white
RED = "#942514"  # bars over the limit: 8.4:1 on white, and hatched
FONT = 'font-family="arial, sans-serif"'


@dataclass(frozen=True)
class Chart:
    """One chart: its element id, its title and description (the text alternative), the SVG."""

    id: str
    title: str
    desc: str
    svg: str


def percent(value: float | None) -> str:
    """A share as Swedish writes it: `82 %`; none as "saknas"."""
    return "saknas" if value is None else f"{round(value * 100)} %"


def number(value: float | None) -> str:
    """`3`, `3,5` (a decimal comma); none as "saknas"."""
    if value is None:
        return "saknas"
    shown = f"{value:.1f}".rstrip("0").rstrip(".")
    return shown.replace(".", ",")


def nice_top(largest: float) -> tuple[float, float]:
    """The axis' top and its step: 1, 2 or 5 times a power of ten, four or five steps."""
    if largest <= 0:
        return 4.0, 1.0
    raw = largest / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0)
    return step * math.ceil(largest / step), step


def _open(chart_id: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-labelledby="{chart_id}-titel {chart_id}-beskrivning" '
        f'class="kaa-chart" id="{chart_id}" focusable="false">',
        f'<title id="{chart_id}-titel">{escape(title)}</title>',
        f'<desc id="{chart_id}-beskrivning">{escape(desc)}</desc>',
    ]


def _axis(top: float, step: float, as_percent: bool) -> list[str]:
    """The horizontal grid with its values, and the baseline."""
    parts = []
    plot = HEIGHT - TOP - BOTTOM
    value = 0.0
    while value <= top + 1e-9:
        y = HEIGHT - BOTTOM - plot * value / top
        text = f"{round(value)} %" if as_percent else number(value)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')  # fmt: skip
        parts.append(f'<text x="{LEFT - 8}" y="{y + 5:.1f}" text-anchor="end" font-size="14" '
                     f'fill="{INK}" {FONT}>{text}</text>')  # fmt: skip
        value += step
    base = HEIGHT - BOTTOM
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" '
                 f'stroke="{INK}" stroke-width="2"/>')  # fmt: skip
    return parts


def bars(
    chart_id: str,
    title: str,
    labels: list[str],
    values: list[float | None],
    *,
    as_percent: bool,
    unit: str = "",
) -> Chart:
    """One bar per half-year (oldest left), each labelled with its value; a missing value is
    said as such. `as_percent`: values are shares (0–1) drawn against 100 %."""
    shown = [percent(v) if as_percent else number(v) for v in values]
    unit_words = f" {unit}" if unit and not as_percent else ""
    desc = "; ".join(f"{label}: {text}{unit_words if text != 'saknas' else ''}"
                     for label, text in zip(labels, shown, strict=True)) + "."  # fmt: skip
    scaled = [None if v is None else (v * 100 if as_percent else v) for v in values]
    if as_percent:
        top, step = 100.0, 25.0
    else:
        top, step = nice_top(max((v for v in scaled if v is not None), default=0.0))
    parts = _open(chart_id, title, desc) + _axis(top, step, as_percent)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(values), 1)
    width = min(slot * 0.6, 90)
    for i, (label, value, text) in enumerate(zip(labels, scaled, shown, strict=True)):
        middle = LEFT + slot * (i + 0.5)
        if value is not None:
            height = plot_h * value / top
            y = HEIGHT - BOTTOM - height
            parts.append(f'<rect x="{middle - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" '
                         f'height="{height:.1f}" fill="{BLUE}"/>')  # fmt: skip
        else:
            y = HEIGHT - BOTTOM
        parts.append(f'<text x="{middle:.1f}" y="{y - 6:.1f}" text-anchor="middle" '
                     f'font-size="14" font-weight="bold" fill="{INK}" {FONT}>{text}</text>')  # fmt: skip
        parts.append(f'<text x="{middle:.1f}" y="{HEIGHT - BOTTOM + 22}" text-anchor="middle" '
                     f'font-size="15" fill="{INK}" {FONT}>{escape(label)}</text>')  # fmt: skip
    parts.append("</svg>")
    return Chart(chart_id, title, desc, "".join(parts))


@dataclass(frozen=True)
class Column:
    """One column of the distribution: its label, how many, and whether it is over the limit."""

    label: str
    count: int
    over: bool


def wait_columns(waits: list[tuple[int, int]], limit: int, widest: int = 30) -> list[Column]:
    """Working days 0 to the largest seen (at least two past the limit), one column each; those
    past `widest` together in a last column."""
    seen = max((days for days, _ in waits), default=0)
    last = max(limit + 2, min(seen, widest))
    counts = dict(waits)
    columns = [Column(str(d), counts.get(d, 0), d > limit) for d in range(last + 1)]
    tail = sum(n for d, n in waits if d > last)
    if tail:
        columns.append(Column(f"> {last}", tail, True))
    return columns


def waits_chart(chart_id: str, title: str, waits: list[tuple[int, int]], limit: int) -> Chart:
    """How many episodes had their first contact attempt after each number of working days,
    against the municipality's limit (a dashed line; the columns past it hatched and darker)."""
    columns = wait_columns(waits, limit)
    total = sum(c.count for c in columns)
    within = sum(c.count for c in columns if not c.over)
    if total:
        desc = (f"{total} första kontaktförsök. {within} inom gränsen på {limit} arbetsdagar, "
                f"{total - within} över den. Per antal arbetsdagar: "
                + ", ".join(f"{c.label}: {c.count}" for c in columns if c.count) + ".")  # fmt: skip
    else:
        desc = f"Inga första kontaktförsök under halvåret. Gränsen är {limit} arbetsdagar."
    top, step = nice_top(max((c.count for c in columns), default=0))
    parts = _open(chart_id, title, desc)
    parts.append(
        f'<defs><pattern id="{chart_id}-streck" width="8" height="8" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="8" height="8" fill="{RED}"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="#ffffff" stroke-width="3"/></pattern></defs>'
    )
    parts += _axis(top, step, False)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(columns)
    every = 1 if len(columns) <= 16 else 5
    for i, column in enumerate(columns):
        x = LEFT + slot * i
        if column.count:
            height = plot_h * column.count / top
            fill = f"url(#{chart_id}-streck)" if column.over else BLUE
            parts.append(f'<rect x="{x + slot * 0.1:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" '
                         f'width="{slot * 0.8:.1f}" height="{height:.1f}" fill="{fill}" '
                         f'stroke="{RED if column.over else BLUE}" stroke-width="1"/>')  # fmt: skip
            if len(columns) <= 16:
                parts.append(f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - BOTTOM - height - 5:.1f}" '
                             f'text-anchor="middle" font-size="14" fill="{INK}" {FONT}>'
                             f"{column.count}</text>")  # fmt: skip
        if i % every == 0 or i == len(columns) - 1:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                         f'text-anchor="middle" font-size="14" fill="{INK}" {FONT}>'
                         f"{escape(column.label)}</text>")  # fmt: skip
    line_x = LEFT + slot * (limit + 1)
    parts.append(f'<line x1="{line_x:.1f}" x2="{line_x:.1f}" y1="{TOP - 26}" '
                 f'y2="{HEIGHT - BOTTOM}" stroke="{INK}" stroke-width="2" '
                 f'stroke-dasharray="6 4"/>')  # fmt: skip
    anchor = "end" if line_x > WIDTH / 2 else "start"
    offset = -6 if anchor == "end" else 6
    parts.append(f'<text x="{line_x + offset:.1f}" y="{TOP - 30}" text-anchor="{anchor}" '
                 f'font-size="14" font-weight="bold" fill="{INK}" {FONT}>'
                 f"Gräns: {limit} arbetsdagar</text>")  # fmt: skip
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                 f'font-size="14" fill="{INK}" {FONT}>Arbetsdagar till första '
                 "kontaktförsöket</text>")  # fmt: skip
    parts.append("</svg>")
    return Chart(chart_id, title, desc, "".join(parts))
