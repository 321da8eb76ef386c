"""Colours, band shapes and the one stylesheet every chart and the HTML report share.

Colours are data so a test can check each text/background pair against WCAG AA (4.5:1 for
text, 3:1 for lines and shapes, WCAG 1.4.11) in both themes. The band hues are the
Okabe-Ito palette's green, blue, vermillion and reddish purple, at lightnesses chosen so the
four stay apart under simulated protanopia, deuteranopia and tritanopia (a test checks);
every band also has its own marker shape and is always labelled in words, so colour is never
the only cue. The heat map ramps in lightness (readable in greyscale) and prints each value."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache

BANDS = ("ready_now", "ready_soon", "developing", "not_yet")
BAND_LABELS = {"ready_now": "Ready now", "ready_soon": "Ready soon",
               "developing": "Developing", "not_yet": "Not yet"}
BAND_SHAPES = {"ready_now": "circle", "ready_soon": "triangle", "developing": "square",
               "not_yet": "cross"}
BAND_SYMBOLS = {"ready_now": "\u25cf", "ready_soon": "\u25b2", "developing": "\u25a0",
                "not_yet": "\u2716"}  # the same shapes as text, for the HTML report
HEAT_STEPS = (0.0, 0.5, 1.0, 2.0, 3.0)  # a mean gap >= step i falls in bucket i


@dataclass(frozen=True)
class Theme:
    bg: str
    fg: str
    muted: str  # secondary text
    grid: str  # rings, axes, borders
    panel: str  # table stripes, callouts
    current: str  # expected bar of the current level
    target: str  # expected bar of the target level
    observed: str
    raw: str  # observed before rater adjustment
    bands: dict[str, str]
    heat: tuple[str, ...]  # fills, bucket 0..4
    heat_text: tuple[str, ...]  # value text on each fill


LIGHT = Theme(
    bg="#ffffff", fg="#1b1b1f", muted="#4d4d57", grid="#7c7c86", panel="#f5f6f8",
    current="#5f5f69", target="#0a5bab", observed="#b34400", raw="#7b3fa0",
    bands={"ready_now": "#006549", "ready_soon": "#0072b2", "developing": "#ae4d00",
           "not_yet": "#9b5b7e"},
    heat=("#f6f6f8", "#fdd9b5", "#f9a15a", "#bf4808", "#7a2a05"),
    heat_text=("#1b1b1f", "#1b1b1f", "#1b1b1f", "#ffffff", "#ffffff"),
)
DARK = Theme(
    bg="#15171b", fg="#ececf0", muted="#b9bac4", grid="#8d8f9a", panel="#23262d",
    current="#a9abb6", target="#6fb6ff", observed="#ff9d57", raw="#d5a3f2",
    bands={"ready_now": "#19a781", "ready_soon": "#91cef0", "developing": "#df863f",
           "not_yet": "#d186af"},
    heat=("#23262d", "#4b3019", "#87471a", "#d9732b", "#ffb477"),
    heat_text=("#ececf0", "#ececf0", "#ffffff", "#15171b", "#15171b"),
)


def heat_bucket(gap: float) -> int:
    return max(i for i, step in enumerate(HEAT_STEPS) if gap >= step) if gap > 0 else 0


# --- contrast (WCAG 2.x relative luminance) --------------------------------------------------

def _channel(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_pairs(theme: Theme) -> list[tuple[str, str, str]]:
    """(what, foreground, background) for every text the charts and report draw."""
    pairs = [("text", theme.fg, theme.bg), ("muted text", theme.muted, theme.bg),
             ("text on panel", theme.fg, theme.panel), ("muted on panel", theme.muted,
                                                        theme.panel)]
    pairs += [(f"band {b} symbol{where}", colour, bg) for b, colour in theme.bands.items()
              for where, bg in (("", theme.bg), (" on panel", theme.panel))]
    pairs += [(f"heat {i} value", theme.heat_text[i], fill) for i, fill in enumerate(theme.heat)]
    return pairs


def graphic_pairs(theme: Theme) -> list[tuple[str, str, str]]:
    """(what, colour, background) for lines and shapes that carry meaning."""
    return [(name, getattr(theme, name), theme.bg)
            for name in ("grid", "current", "target", "observed", "raw")] + [
        (f"band {b}", colour, theme.bg) for b, colour in theme.bands.items()]


# --- the stylesheet ----------------------------------------------------------------------------

def _variables(theme: Theme) -> str:
    names = {"bg": theme.bg, "fg": theme.fg, "muted": theme.muted, "grid": theme.grid,
             "panel": theme.panel, "current": theme.current, "target": theme.target,
             "observed": theme.observed, "raw": theme.raw}
    names |= {f"band-{b.replace('_', '-')}": c for b, c in theme.bands.items()}
    names |= {f"heat-{i}": c for i, c in enumerate(theme.heat)}
    names |= {f"heat-text-{i}": c for i, c in enumerate(theme.heat_text)}
    return ";".join(f"--{k}:{v}" for k, v in names.items())


# Chart rules; ":root" is the <svg> of a standalone chart and <html> of the report.
_CHART_RULES = """
.chart{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:13px}
.chart .bg{fill:var(--bg)}
.chart text{fill:var(--fg)}
.chart .muted{fill:var(--muted)}
.chart .small{font-size:11px}
.chart .heading{font-size:15px;font-weight:600}
.chart .ring,.chart .axis-line{stroke:var(--grid);stroke-width:1;fill:none}
.chart .axis-line.unrated{stroke-dasharray:2 4}
.chart .exp-current{stroke:var(--current);stroke-width:2;stroke-dasharray:6 4;fill:none}
.chart .exp-target{stroke:var(--target);stroke-width:2.5;fill:none}
.chart .observed-line{stroke:var(--observed);stroke-width:3;fill:none}
.chart .observed-fill{fill:var(--observed);fill-opacity:.16;stroke:none}
.chart .observed-dot{fill:var(--observed);stroke:var(--bg);stroke-width:1.5}
.chart .raw-line{stroke:var(--raw);stroke-width:2;stroke-dasharray:1 4;stroke-linecap:round;
fill:none}
.chart .raw-dot{fill:var(--bg);stroke:var(--raw);stroke-width:2}
.chart .gate-mark{fill:var(--target);stroke:var(--bg);stroke-width:1}
.chart .gate-mark.unmet{fill:var(--bg);stroke:var(--target);stroke-width:2}
.chart .unrated-mark{fill:var(--bg);stroke:var(--grid);stroke-width:1.5;stroke-dasharray:2 2}
.chart .axis-label .gate{font-weight:700}
.chart .frame{fill:none;stroke:var(--grid);stroke-width:1}
.chart .guide{fill:none;stroke:var(--fg);stroke-width:1.5;stroke-dasharray:4 3}
.chart .none-cell{fill:var(--bg);stroke:var(--grid);stroke-width:1;stroke-dasharray:3 3}
"""


def _band_rules() -> str:
    rules = []
    for band in BANDS:
        var = f"var(--band-{band.replace('_', '-')})"
        rules.append(f".chart .band-{band}{{fill:{var};stroke:{var}}}")
        rules.append(f".chart text.band-{band}{{stroke:none}}")
        rules.append(f".chart .bar.band-{band}{{fill-opacity:.85}}")
    for i in range(len(HEAT_STEPS)):
        rules.append(f".chart .heat-{i}{{fill:var(--heat-{i});stroke:var(--bg);stroke-width:2}}")
        rules.append(f".chart text.heat-text-{i}{{fill:var(--heat-text-{i})}}")
    return "\n".join(rules)


def chart_css() -> str:
    return (f":root{{{_variables(LIGHT)}}}\n"
            f"@media (prefers-color-scheme: dark){{:root{{{_variables(DARK)}}}}}\n"
            f"{_CHART_RULES}{_band_rules()}\n"
            "@media print{:root{" + _variables(LIGHT) + "}}\n")


@cache
def chart_stylesheet() -> str:
    return chart_css()


def csp_hash(stylesheet: str) -> str:
    """The CSP source that allows exactly this <style> element's text and nothing else."""
    digest = hashlib.sha256(stylesheet.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"
