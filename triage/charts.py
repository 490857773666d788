"""Geometry for small server-side SVG charts. Pure: numbers in, shapes out.

Templates draw the shapes; every chart also ships its numbers as a table, so nothing here
needs to be read off a picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PALETTE = ["#1f6feb", "#d4a72c", "#2da44e", "#cf222e", "#8250df", "#bf8700", "#57606a"]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rects: list[Rect]
    labels: list[Label]  # category labels under the bars
    line: str = ""  # polyline points for an overlaid series
    legend: list[tuple[str, str]] = ()  # (colour, name)
    max_value: float = 0.0


def nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    line: Sequence[float | None] | None = None,
    width: int = 720,
    height: int = 220,
) -> Chart:
    """Bars for ``values``; ``line`` (its own scale) is drawn across them when given."""
    n = max(len(values), 1)
    top, bottom = 10, 30
    plot = height - top - bottom
    scale = nice_max(max(values, default=0))
    slot = width / n
    rects = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot * value / scale
        rects.append(
            Rect(
                i * slot + slot * 0.15,
                top + plot - h,
                slot * 0.7,
                h,
                PALETTE[0],
                f"{label}: {value:g}",
            )
        )
    every = max(1, n // 8)
    text = [
        Label(i * slot + slot / 2, height - 10, lb) for i, lb in enumerate(labels) if i % every == 0
    ]
    points = ""
    if line:
        line_max = nice_max(max((v for v in line if v is not None), default=0))
        points = " ".join(
            f"{i * slot + slot / 2:.1f},{top + plot - plot * v / line_max:.1f}"
            for i, v in enumerate(line)
            if v is not None
        )
    return Chart(width, height, rects, text, points, max_value=scale)


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = 720,
    height: int = 240,
) -> Chart:
    """One column per label, one coloured segment per series."""
    n = max(len(labels), 1)
    top, bottom = 10, 30
    plot = height - top - bottom
    totals = [sum(values[i] for _name, values in series) for i in range(len(labels))]
    scale = nice_max(max(totals, default=0))
    slot = width / n
    rects = []
    for i, label in enumerate(labels):
        y = top + plot
        for j, (name, values) in enumerate(series):
            h = plot * values[i] / scale
            if h <= 0:
                continue
            y -= h
            colour = PALETTE[j % len(PALETTE)]
            rects.append(
                Rect(
                    i * slot + slot * 0.15,
                    y,
                    slot * 0.7,
                    h,
                    colour,
                    f"{label} · {name}: {values[i]:g}",
                )
            )
    every = max(1, n // 8)
    text = [
        Label(i * slot + slot / 2, height - 10, lb) for i, lb in enumerate(labels) if i % every == 0
    ]
    legend = [(PALETTE[j % len(PALETTE)], name) for j, (name, _v) in enumerate(series)]
    return Chart(width, height, rects, text, legend=legend, max_value=scale)


def horizontal_shares(
    rows: Sequence[tuple[str, Sequence[float]]], names: Sequence[str], *, width: int = 720
) -> Chart:
    """One 100% bar per row, split into the shares of ``names``."""
    row_height, label_width = 26, 260
    height = max(row_height * len(rows), row_height) + 10
    rects, labels = [], []
    for i, (label, values) in enumerate(rows):
        total = sum(values) or 1
        x = float(label_width)
        for j, value in enumerate(values):
            w = (width - label_width) * value / total
            if w > 0:
                colour = PALETTE[j % len(PALETTE)]
                rects.append(
                    Rect(
                        x,
                        i * row_height + 4,
                        w,
                        row_height - 8,
                        colour,
                        f"{label} · {names[j]}: {value:g}",
                    )
                )
            x += w
        labels.append(Label(label_width - 8, i * row_height + row_height / 2 + 4, label))
    legend = [(PALETTE[j % len(PALETTE)], name) for j, name in enumerate(names)]
    return Chart(width, height, rects, labels, legend=legend)
