"""A thin layer over the standard library's ``xml.etree.ElementTree`` for the charts.

ElementTree escapes every text node and attribute value it writes, so a name or any other
user-supplied string can only ever become text. Characters XML 1.0 forbids (control
characters a rubric name or an HRIS sync may carry) are replaced before they reach it, so the
output always parses. Charts draw nothing that loads: no ``<image>``, no ``href``, no script."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from .palette import chart_stylesheet

SVG_NS = "http://www.w3.org/2000/svg"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: object) -> str:
    """Text XML can carry: characters it forbids become U+FFFD."""
    return _NOT_XML.sub("\ufffd", str(text))


def clip(text: str, limit: int) -> str:
    text = " ".join(clean(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def fmt(value: float | None, digits: int = 2) -> str:
    """4.2857 -> '4.29', 5.0 -> '5', None -> '-'; never '-0'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def wrap(text: str, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap; the last line is clipped with an ellipsis when there is more."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    lines = [ln if len(ln) <= width else ln[:width - 1] + "\u2026" for ln in lines]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = clip(lines[-1] + " \u2026", width)
    return lines or [""]


@dataclass(frozen=True)
class Labels:
    """Display names the report itself does not carry (it holds keys): from the rubric."""

    competencies: Mapping[str, str] = field(default_factory=dict)
    levels: Mapping[str, str] = field(default_factory=dict)
    scale_min: int | None = None
    scale_max: int | None = None

    def competency(self, key: str) -> str:
        return clean(self.competencies.get(key) or key)

    def level(self, key: str) -> str:
        return clean(self.levels.get(key) or key)


def _attr(name: str) -> str:
    return "class" if name == "class_" else name.replace("_", "-")


def _value(value: object) -> str:
    if isinstance(value, float):
        return fmt(value, 2)
    return clean(value)


def el(parent: ET.Element | None, tag: str, text: object = None, **attrs: object) -> ET.Element:
    """A child element; ``class_`` is ``class``, other underscores become dashes."""
    values = {_attr(k): _value(v) for k, v in attrs.items() if v is not None}
    node = ET.Element(tag, values) if parent is None else ET.SubElement(parent, tag, values)
    if text is not None:
        node.text = clean(text)
    return node


def points(coords: list[tuple[float, float]]) -> str:
    return " ".join(f"{fmt(x, 1)},{fmt(y, 1)}" for x, y in coords)


def canvas(width: int, height: int, *, title: str, desc: str, id_prefix: str,
           kind: str) -> ET.Element:
    """The <svg> root: an image whose accessible name and description are its <title> and
    <desc>, on a background of the theme's colour."""
    root = el(None, "svg", xmlns=SVG_NS, viewBox=f"0 0 {width} {height}", width=width,
              height=height, role="img", aria_labelledby=f"{id_prefix}-title {id_prefix}-desc",
              class_=f"chart {kind}", id=id_prefix)
    el(root, "title", title, id=f"{id_prefix}-title")
    el(root, "desc", desc, id=f"{id_prefix}-desc")
    el(root, "rect", class_="bg", x=0, y=0, width=width, height=height)
    return root


def band_marker(parent: ET.Element, band: str, shape: str, x: float, y: float,
                size: float = 6) -> ET.Element:
    """The band's own shape centred at (x, y), so bands differ without colour."""
    cls = f"band-{band} band-mark"
    if shape == "circle":
        return el(parent, "circle", class_=cls, cx=x, cy=y, r=size)
    if shape == "triangle":
        return el(parent, "polygon", class_=cls, points=points(
            [(x, y - size * 1.15), (x + size * 1.1, y + size * 0.8), (x - size * 1.1,
                                                                       y + size * 0.8)]))
    if shape == "square":
        return el(parent, "rect", class_=cls, x=x - size * 0.9, y=y - size * 0.9,
                  width=size * 1.8, height=size * 1.8)
    arm, w = size, size * 0.38  # a cross: two bars
    return el(parent, "polygon", class_=cls, points=points([
        (x - arm, y - arm + w), (x - arm + w, y - arm), (x, y - w), (x + arm - w, y - arm),
        (x + arm, y - arm + w), (x + w, y), (x + arm, y + arm - w), (x + arm - w, y + arm),
        (x, y + w), (x - arm + w, y + arm), (x - arm, y + arm - w), (x - w, y)]))


def diamond(parent: ET.Element, x: float, y: float, size: float, cls: str) -> ET.Element:
    return el(parent, "polygon", class_=cls, points=points(
        [(x, y - size), (x + size, y), (x, y + size), (x - size, y)]))


def to_text(root: ET.Element) -> str:
    """Markup to embed in the HTML report (its page stylesheet styles the chart)."""
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


def to_document(root: ET.Element) -> bytes:
    """A standalone SVG file: its own stylesheet (light and dark) inside."""
    style = ET.Element("style")
    style.text = chart_stylesheet()
    root.insert(2, style)  # after <title> and <desc>
    try:
        body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    finally:
        root.remove(style)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()
