"""Readiness as pictures and documents: pure functions from a report (or a cohort report) to
bytes, with no I/O, so they are tested without a database.

- ``radar_svg``: one person's report as a radar chart (SVG).
- ``heatmap_svg`` / ``bands_svg``: a cohort's competency x band gaps, and its band counts.
- ``report_html``: one person's whole report as a self-contained HTML page.

SVG is written with the standard library's ``xml.etree.ElementTree`` (it escapes every text
and attribute), HTML with Jinja2 (autoescaping on). Both share one stylesheet with light and
dark themes (``palette``)."""

from collections.abc import Mapping, Sequence
from typing import Any

from . import html
from .cohort import Guideline, bands, heatmap
from .html import Excerpt, Page, RaterGroup, Subject
from .palette import chart_stylesheet, csp_hash
from .radar import radar
from .svg import Labels, to_document

SVG_MEDIA_TYPE = "image/svg+xml"
HTML_MEDIA_TYPE = "text/html; charset=utf-8"

__all__ = ["Excerpt", "Labels", "Page", "RaterGroup", "Subject", "bands_svg", "heatmap_svg",
           "html_csp", "radar_svg", "report_html", "svg_csp"]


def radar_svg(report: Mapping[str, Any], labels: Labels = Labels()) -> bytes:
    return to_document(radar(report, labels))


def heatmap_svg(cohort: Mapping[str, Any], labels: Labels = Labels()) -> bytes:
    return to_document(heatmap(cohort, labels))


def bands_svg(cohort: Mapping[str, Any], guideline: Guideline | None = None) -> bytes:
    return to_document(bands(cohort, guideline))


def report_html(page: Page) -> bytes:
    return html.render(page)


def html_csp(frame_ancestors: Sequence[str] = ()) -> str:
    return html.csp(frame_ancestors)


def svg_csp(frame_ancestors: Sequence[str] = ()) -> str:
    """A chart opened on its own: its stylesheet and nothing else."""
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    return (f"default-src 'none'; style-src {csp_hash(chart_stylesheet())}; "
            f"frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'")
