"""Cohort charts from a cohort readiness report (the JSON of ``GET /v1/cohorts/readiness``).

- Heat map: competencies down, bands across (and everyone, first), each cell the mean gap to
  the target bar of the people in that band; the value is printed in the cell, the fill
  darkens with the gap, and a band with nobody in it says so instead of showing a zero.
- Band distribution: people per band as bars with counts and shares; with a calibration
  guideline (``{"ready_now": [0, 15], ...}``, percent) each band's allowed range is drawn as
  a dashed bracket and the bar is said to be within, above or below it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any
from xml.etree.ElementTree import Element

from .palette import BAND_LABELS, BAND_SHAPES, BANDS, HEAT_STEPS, heat_bucket
from .svg import Labels, band_marker, canvas, clip, el, fmt

Guideline = Mapping[str, Sequence[float]]

# --- heat map ----------------------------------------------------------------------------------

LABEL_W, CELL_W, CELL_H, TOP = 240, 100, 32, 96


def _columns(cohort: Mapping[str, Any]) -> list[tuple[str | None, str, int]]:
    """(band or None for everyone, heading, people)."""
    bands = cohort.get("bands") or {}
    return [(None, "Everyone", int(cohort.get("people") or 0))] + [
        (b, BAND_LABELS[b], int(bands.get(b) or 0)) for b in BANDS]


def _filters(cohort: Mapping[str, Any]) -> str:
    filters = {k: v for k, v in (cohort.get("filters") or {}).items() if v}
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(filters.items()))


def heatmap_description(cohort: Mapping[str, Any], labels: Labels) -> str:
    rows = cohort.get("heat_map") or []
    said = [f"Mean gap to the target bar per competency and band, {cohort.get('people', 0)} "
            "people" + (f" ({clip(_filters(cohort), 200)})" if _filters(cohort) else "") + "."]
    if not rows:
        return said[0] + " Nobody in this cohort yet."
    for row in rows:
        cells = [f"everyone {fmt(row.get('mean_gap'))}"] + [
            f"{BAND_LABELS[b].lower()} " + (fmt(v) if (v := (row.get("by_band") or {}).get(b))
                                            is not None else "nobody")
            for b in BANDS]
        said.append(f"{labels.competency(row['competency'])}: {', '.join(cells)}.")
    return " ".join(said)


def heatmap(cohort: Mapping[str, Any], labels: Labels = Labels(), *,
            id_prefix: str = "heatmap") -> Element:
    rows = cohort.get("heat_map") or []
    columns = _columns(cohort)
    width = LABEL_W + CELL_W * len(columns) + 20
    body = max(len(rows), 1) * CELL_H
    height = TOP + body + 78
    root = canvas(width, height, title=f"Readiness heat map: mean gap by competency and band, "
                                       f"{cohort.get('people', 0)} people",
                  desc=heatmap_description(cohort, labels), id_prefix=id_prefix,
                  kind="heatmap")
    el(root, "text", "Mean gap to the target bar, by competency and band", x=20, y=28,
       class_="heading")
    if _filters(cohort):
        el(root, "text", clip(_filters(cohort), 100), x=20, y=48, class_="muted small")

    head = el(root, "g", class_="columns")
    for j, (band, heading, people) in enumerate(columns):
        x = LABEL_W + CELL_W * j + CELL_W / 2
        if band is not None:
            band_marker(head, band, BAND_SHAPES[band], x - 8 * len(heading) / 2 - 6, TOP - 31,
                        size=5)
        el(head, "text", heading, x=x + (4 if band else 0), y=TOP - 27, text_anchor="middle")
        el(head, "text", f"{people} {'person' if people == 1 else 'people'}", x=x, y=TOP - 10,
           text_anchor="middle", class_="muted small")

    if not rows:
        el(root, "text", "Nobody in this cohort yet.", x=20, y=TOP + 21, class_="muted")
    for i, row in enumerate(rows):
        y = TOP + i * CELL_H
        group = el(root, "g", class_="row", data_competency=row["competency"])
        el(group, "text", clip(labels.competency(row["competency"]), 34), x=LABEL_W - 12,
           y=y + 21, text_anchor="end")
        by_band = row.get("by_band") or {}
        for j, (band, heading, _) in enumerate(columns):
            value = row.get("mean_gap") if band is None else by_band.get(band)
            x = LABEL_W + CELL_W * j
            if value is None:
                el(group, "rect", class_="none-cell", x=x + 2, y=y + 2, width=CELL_W - 4,
                   height=CELL_H - 4)
                el(group, "text", "nobody", x=x + CELL_W / 2, y=y + 21, text_anchor="middle",
                   class_="muted small")
                continue
            bucket = heat_bucket(value)
            cell = el(group, "rect", class_=f"heat-{bucket}", x=x, y=y, width=CELL_W,
                      height=CELL_H)
            el(cell, "title", f"{labels.competency(row['competency'])}, {heading}: "
                              f"mean gap {fmt(value)}")
            el(group, "text", fmt(value), x=x + CELL_W / 2, y=y + 21, text_anchor="middle",
               class_=f"heat-text-{bucket}")

    legend = el(root, "g", class_="legend")
    y = TOP + body + 26
    el(legend, "text", "Mean gap (scale steps below the target bar):", x=20, y=y + 4,
       class_="small")
    names = [f"under {fmt(HEAT_STEPS[1])}"] + [
        f"{fmt(lo)} to {fmt(hi)}" for lo, hi in pairwise(HEAT_STEPS[1:])] + [
        f"{fmt(HEAT_STEPS[-1])}+"]
    for k, name in enumerate(names):
        x = 20 + k * 100
        el(legend, "rect", class_=f"heat-{k}", x=x, y=y + 16, width=28, height=18)
        el(legend, "text", name, x=x + 34, y=y + 29, class_="small")
    return root


# --- band distribution -------------------------------------------------------------------------

BAR_X, BAR_W, ROW_H, BARS_TOP = 190, 420, 56, 80


def _guideline(cohort: Mapping[str, Any], guideline: Guideline | None) -> dict[str, tuple]:
    given = guideline if guideline is not None else cohort.get("guideline") or {}
    out = {}
    for band, span in given.items():
        if band in BANDS and span is not None and len(span) == 2:
            lo, hi = sorted(max(0.0, min(100.0, float(v))) for v in span)
            out[band] = (lo, hi)
    return out


def _verdict(share: float, span: tuple[float, float]) -> str:
    return "below" if share < span[0] else "above" if share > span[1] else "within"


def bands_description(cohort: Mapping[str, Any], guideline: Guideline | None = None) -> str:
    people = int(cohort.get("people") or 0)
    counts, spans = cohort.get("bands") or {}, _guideline(cohort, guideline)
    said = [f"People per readiness band, {people} in all"
            + (f" ({clip(_filters(cohort), 200)})" if _filters(cohort) else "") + "."]
    for band in BANDS:
        n = int(counts.get(band) or 0)
        share = 100 * n / people if people else 0.0
        text = f"{BAND_LABELS[band]}: {n} ({fmt(share, 1)}%)"
        if band in spans:
            lo, hi = spans[band]
            text += f", guideline {fmt(lo, 1)} to {fmt(hi, 1)}%, {_verdict(share, spans[band])}"
        said.append(text + ".")
    return " ".join(said)


def bands(cohort: Mapping[str, Any], guideline: Guideline | None = None, *,
          id_prefix: str = "bands") -> Element:
    people = int(cohort.get("people") or 0)
    counts, spans = cohort.get("bands") or {}, _guideline(cohort, guideline)
    height = BARS_TOP + ROW_H * len(BANDS) + 46
    root = canvas(BAR_X + BAR_W + 170, height,
                  title=f"Readiness bands: people per band, {people} people",
                  desc=bands_description(cohort, guideline), id_prefix=id_prefix,
                  kind="bands")
    el(root, "text", f"People per readiness band ({people} in all)", x=20, y=28,
       class_="heading")
    sub = _filters(cohort)
    if spans:
        sub = (sub + " \u00b7 " if sub else "") + "dashed brackets: the calibration guideline"
    if sub:
        el(root, "text", clip(sub, 100), x=20, y=48, class_="muted small")

    axis = el(root, "g", class_="scale")
    bottom = BARS_TOP + ROW_H * len(BANDS)
    for pct in (0, 25, 50, 75, 100):
        x = BAR_X + BAR_W * pct / 100
        el(axis, "line", class_="ring", x1=x, y1=BARS_TOP - 8, x2=x, y2=bottom)
        el(axis, "text", f"{pct}%", x=x, y=bottom + 18, text_anchor="middle",
           class_="muted small")

    for i, band in enumerate(BANDS):
        y = BARS_TOP + i * ROW_H
        n = int(counts.get(band) or 0)
        share = 100 * n / people if people else 0.0
        row = el(root, "g", class_="band-row", data_band=band)
        band_marker(row, band, BAND_SHAPES[band], 30, y + 18)
        el(row, "text", BAND_LABELS[band], x=46, y=y + 23)
        width = BAR_W * share / 100
        if width > 0:
            el(row, "rect", class_=f"bar band-{band}", x=BAR_X, y=y + 6, width=width,
               height=24)
        end = BAR_X + width
        if band in spans:
            lo, hi = spans[band]
            x0, x1 = BAR_X + BAR_W * lo / 100, BAR_X + BAR_W * hi / 100
            end = max(end, x1)  # the count reads clear of the bracket
            el(row, "rect", class_="guide", x=x0, y=y + 1, width=max(x1 - x0, 2), height=34)
            el(row, "text", f"guideline {fmt(lo, 1)}\u2013{fmt(hi, 1)}%: "
                            f"{_verdict(share, spans[band])}", x=BAR_X, y=y + 50,
               class_="muted small")
        el(row, "text", f"{n} ({fmt(share, 1)}%)", x=end + 8, y=y + 23)
    return root
