"""The readiness radar: one axis per competency, the expected bar of the current level
(dashed) and of the target level (solid), the observed value (and, when a report carries
``observed_raw``, the value before rater adjustment, dotted), gate competencies marked with a
diamond and named in words. A competency nobody rated has no observed value: its axis is
dashed and the observed shape is broken there (a gap, never a point at zero).

Rings are the scale's values; value v sits at radius (v - min + 1) / (max - min + 1), so the
lowest scale value is a ring of its own rather than the centre."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree.ElementTree import Element

from .palette import BAND_LABELS, BAND_SHAPES
from .svg import Labels, band_marker, canvas, clip, diamond, el, fmt, points, wrap

WIDTH, CX, CY, R = 780, 390, 330, 200
LABEL_GAP = 16
LEGEND_TOP = 612


def unrated_keys(report: Mapping[str, Any]) -> set[str]:
    """Competencies with no observed value: the ``unrated`` list when the report has one
    (Readiness v2), else the ``unrated`` flag or a null ``observed``."""
    keys = {u["competency"] for u in report.get("unrated") or ()}
    for c in report.get("competencies", ()):
        if c.get("observed") is None or "unrated" in c.get("flags", ()):
            keys.add(c["key"])
    return keys


def gate_state(report: Mapping[str, Any]) -> dict[str, bool]:
    """competency -> met, for gate competencies (unmet if any of its gates is unmet: Readiness
    v2 lists a gate per level)."""
    state: dict[str, bool] = {}
    for g in report.get("gates", ()):
        state[g["competency"]] = state.get(g["competency"], True) and bool(g.get("met"))
    return state


def _scale(report: Mapping[str, Any], labels: Labels) -> tuple[int, int]:
    values = [v for c in report.get("competencies", ()) for v in (
        c.get("expected_current"), c.get("expected_target"), c.get("observed"),
        c.get("observed_raw")) if isinstance(v, int | float)]
    lo = labels.scale_min if labels.scale_min is not None else min([1, *map(math.floor, values)])
    hi = labels.scale_max if labels.scale_max is not None else max([lo + 1,
                                                                    *map(math.ceil, values)])
    return lo, max(hi, lo + 1)


def summary(report: Mapping[str, Any], labels: Labels) -> str:
    band = BAND_LABELS.get(report.get("band", ""), report.get("band", ""))
    rated = len(report.get("competencies", ())) - len(unrated_keys(report))
    return (f"{labels.level(report.get('current_level', ''))} to "
            f"{labels.level(report.get('target_level', ''))}: score "
            f"{fmt(report.get('score'), 1)} of 100, band {band}; {rated} of "
            f"{len(report.get('competencies', ()))} competencies rated")


def description(report: Mapping[str, Any], labels: Labels) -> str:
    """The chart in words: every axis with its numbers."""
    unrated, gates = unrated_keys(report), gate_state(report)
    parts = [summary(report, labels) + "."]
    for c in report.get("competencies", ()):
        name = labels.competency(c["key"])
        said = (f"{name}: expected {fmt(c.get('expected_current'))} now and "
                f"{fmt(c.get('expected_target'))} at the target; ")
        if c["key"] in unrated:
            said += "not rated"
        else:
            said += f"observed {fmt(c.get('observed'))}"
            if c.get("observed_raw") is not None:
                said += f" ({fmt(c.get('observed_raw'))} before rater adjustment)"
        if c["key"] in gates:
            said += "; a gate, " + ("met" if gates[c["key"]] else "not met")
        parts.append(said + ".")
    return " ".join(parts)


def _polar(value: float, i: int, n: int, lo: int, hi: int) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * i / n
    radius = R * (value - lo + 1) / (hi - lo + 1)
    return CX + radius * math.cos(angle), CY + radius * math.sin(angle)


def _label(parent: Element, lines: list[tuple[str, str]], i: int, n: int) -> None:
    """Lines of (text, css class) outside the end of axis i, anchored away from the chart."""
    angle = -math.pi / 2 + 2 * math.pi * i / n
    cos, sin = math.cos(angle), math.sin(angle)
    x, y = CX + (R + LABEL_GAP) * cos, CY + (R + LABEL_GAP) * sin
    anchor = "start" if cos > 0.25 else "end" if cos < -0.25 else "middle"
    step = 15
    if sin < -0.5:  # above the chart: the block grows upward
        top = y - step * (len(lines) - 1)
    elif sin > 0.5:  # below: downward, first baseline a line lower
        top = y + 11
    else:
        top = y + 4 - step * (len(lines) - 1) / 2
    text = el(parent, "text", x=round(x, 1), y=round(top, 1), text_anchor=anchor,
              class_="axis-label")
    for k, (line, cls) in enumerate(lines):
        el(text, "tspan", line, x=round(x, 1), dy=None if k == 0 else step, class_=cls or None)


def _legend(root: Element, report: Mapping[str, Any], labels: Labels, has_raw: bool,
            gates: Mapping[str, bool], has_unrated: bool) -> int:
    items: list[tuple[str, str]] = [
        ("current", f"Expected at {labels.level(report.get('current_level', ''))}"),
        ("target", f"Expected at {labels.level(report.get('target_level', ''))}"),
        ("observed", "Observed (the raters' weighted view)")]
    if has_raw:
        items.append(("raw", "Observed before rater adjustment"))
    if any(gates.values()):
        items.append(("gate-met", "Gate for the target level, met"))
    if not all(gates.values()):
        items.append(("gate-unmet", "Gate for the target level, not met"))
    if has_unrated:
        items.append(("unrated", "Unrated: shown as a gap, not a zero"))
    legend = el(root, "g", class_="legend")
    for k, (kind, text) in enumerate(items):
        x, y = 40 + (k % 2) * 370, LEGEND_TOP + (k // 2) * 24
        if kind == "current":
            el(legend, "line", class_="exp-current", x1=x, y1=y, x2=x + 30, y2=y)
        elif kind == "target":
            el(legend, "line", class_="exp-target", x1=x, y1=y, x2=x + 30, y2=y)
        elif kind == "observed":
            el(legend, "line", class_="observed-line", x1=x, y1=y, x2=x + 30, y2=y)
            el(legend, "circle", class_="observed-dot", cx=x + 15, cy=y, r=4.5)
        elif kind == "raw":
            el(legend, "line", class_="raw-line", x1=x, y1=y, x2=x + 30, y2=y)
            el(legend, "circle", class_="raw-dot", cx=x + 15, cy=y, r=3.5)
        elif kind.startswith("gate"):
            diamond(legend, x + 15, y, 6, "gate-mark" + (" unmet" if kind == "gate-unmet"
                                                         else ""))
        else:
            el(legend, "line", class_="axis-line unrated", x1=x, y1=y, x2=x + 30, y2=y)
        el(legend, "text", text, x=x + 40, y=y + 4.5)
    return LEGEND_TOP + ((len(items) + 1) // 2) * 24 + 4


def radar(report: Mapping[str, Any], labels: Labels = Labels(), *,
          id_prefix: str = "radar") -> Element:
    competencies: Sequence[Mapping[str, Any]] = report.get("competencies", ())
    n = len(competencies)
    lo, hi = _scale(report, labels)
    unrated, gates = unrated_keys(report), gate_state(report)
    has_raw = any(c.get("observed_raw") is not None for c in competencies)

    root = canvas(WIDTH, 0, title="Readiness radar: " + summary(report, labels),
                  desc=description(report, labels), id_prefix=id_prefix, kind="radar")
    band = report.get("band", "")
    heading = el(root, "g", class_="headline")
    if band in BAND_SHAPES:
        band_marker(heading, band, BAND_SHAPES[band], 30, 25)
    el(heading, "text", f"{BAND_LABELS.get(band, band)} \u00b7 score "
                        f"{fmt(report.get('score'), 1)} of 100", x=44, y=30, class_="heading")
    levels = (f"{labels.level(report.get('current_level', ''))} \u2192 "
              f"{labels.level(report.get('target_level', ''))}")
    el(heading, "text", clip(levels, 100), x=44, y=50, class_="muted")
    if report.get("calibrated_band"):
        calibrated = report["calibrated_band"]
        el(heading, "text", f"Calibrated band: {BAND_LABELS.get(calibrated, calibrated)}",
           x=44, y=68, class_="muted small")

    grid = el(root, "g", class_="grid")
    for v in range(lo, hi + 1):
        radius = R * (v - lo + 1) / (hi - lo + 1)
        el(grid, "circle", class_="ring", cx=CX, cy=CY, r=round(radius, 1))
        el(grid, "text", str(v), x=CX + 4, y=round(CY - radius - 3, 1), class_="muted small")

    if n:
        current = [_polar(c["expected_current"], i, n, lo, hi) for i, c in enumerate(competencies)]
        target = [_polar(c["expected_target"], i, n, lo, hi) for i, c in enumerate(competencies)]
        el(root, "polygon", class_="exp-current", points=points(current))
        el(root, "polygon", class_="exp-target", points=points(target))

    shape = el(root, "g", class_="observed")
    observed = [None if c["key"] in unrated or c.get("observed") is None
                else _polar(c["observed"], i, n, lo, hi) for i, c in enumerate(competencies)]
    raw = [None if c.get("observed_raw") is None else _polar(c["observed_raw"], i, n, lo, hi)
           for i, c in enumerate(competencies)]
    for i in range(n if n > 2 else n - 1):  # each edge between neighbouring rated axes
        a, b = observed[i], observed[(i + 1) % n]
        if a is not None and b is not None:
            el(shape, "polygon", class_="observed-fill", points=points([(CX, CY), a, b]))
            el(shape, "line", class_="observed-line", x1=a[0], y1=a[1], x2=b[0], y2=b[1])
        ra, rb = raw[i], raw[(i + 1) % n]
        if ra is not None and rb is not None:
            el(shape, "line", class_="raw-line", x1=ra[0], y1=ra[1], x2=rb[0], y2=rb[1])

    for i, c in enumerate(competencies):
        key = c["key"]
        axis = el(root, "g", class_="axis", data_competency=key)
        name = labels.competency(key)
        tip = f"{name}: expected {fmt(c.get('expected_current'))} now, " \
              f"{fmt(c.get('expected_target'))} at the target, " + (
                  "not rated" if key in unrated else f"observed {fmt(c.get('observed'))}")
        el(axis, "title", tip)
        end = _polar(hi, i, n, lo, hi)
        el(axis, "line", class_="axis-line" + (" unrated" if key in unrated else ""),
           x1=CX, y1=CY, x2=round(end[0], 1), y2=round(end[1], 1))
        if raw[i] is not None:
            el(axis, "circle", class_="raw-dot", cx=raw[i][0], cy=raw[i][1], r=3.5)
        if observed[i] is not None:
            el(axis, "circle", class_="observed-dot", cx=observed[i][0], cy=observed[i][1],
               r=4.5)
        if key in gates:
            diamond(axis, *target[i], 6.5, "gate-mark" + ("" if gates[key] else " unmet"))
        notes = []
        if key in gates:
            notes.append("gate met" if gates[key] else "gate not met")
        if key in unrated:
            notes.append("unrated")
        lines = [(line, "gate" if key in gates else "") for line in wrap(clip(name, 48), 18, 3)]
        if notes:
            lines.append((" \u00b7 ".join(notes), "muted small"))
        _label(axis, lines, i, n)

    height = _legend(root, report, labels, has_raw, gates, bool(unrated))
    root.set("viewBox", f"0 0 {WIDTH} {height}")
    root.set("height", str(height))
    root.find("rect").set("height", str(height))
    return root
