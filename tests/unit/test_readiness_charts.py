"""The pure renderers (no database): SVG that parses strictly and loads nothing, what each
chart draws (gaps for unrated axes, gates, raw values, guideline verdicts), the HTML report's
sections and escaping, the CSP hash, and colours that pass WCAG AA and survive colour-vision
deficiencies."""

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from service.edge import frames_allowed
from service.readiness import scoring
from service.readiness import specs as readiness
from service.readiness.render import (
    Excerpt,
    Labels,
    Page,
    RaterGroup,
    Subject,
    bands_svg,
    heatmap_svg,
    html_csp,
    palette,
    radar_svg,
    report_html,
    svg_csp,
)
from service.readiness.render.html import stylesheet
from service.readiness.render.svg import clean, fmt
from service.rubrics.service import parse_document
from tests.render_checks import SVG, axes, check_html, parse_svg, style_hash, svg_text

CONTENT = Path(__file__).resolve().parents[2] / "service" / "rubrics" / "content"


@pytest.fixture(scope="module")
def ladder():
    doc = parse_document((CONTENT / "product-leadership.2.yaml").read_bytes(), "application/yaml")
    labels = Labels({c.key: c.name for c in doc.competencies},
                    {lv.key: lv.name for lv in doc.levels}, doc.scale.min, doc.scale.max)
    return readiness.to_spec(doc, 1), labels


def rated(spec, keys, role="manager", value=None, level=3):
    """Ratings of ``keys`` at the bar of level index ``level`` (or at ``value``)."""
    return [scoring.Rating(c.key, role, "E1", value if value is not None else c.expected[level],
                           "seen it") for c in spec.competencies if c.key in keys]


def report_with(ladder, keys, **changes):
    spec, _ = ladder
    report = scoring.score(spec, "senior-pm", rated(spec, keys))
    return report | changes


def classes(node) -> list[str]:
    return (node.get("class") or "").split()


# --- radar ---------------------------------------------------------------------------------------

def test_radar_has_one_labelled_axis_per_competency_and_gaps_for_unrated(ladder):
    spec, labels = ladder
    keys = {c.key for c in spec.competencies} - {"strategy", "team-design"}
    report = report_with(ladder, keys)
    root = parse_svg(radar_svg(report, labels))
    drawn = axes(root)
    assert [a.get("data-competency") for a in drawn] == [c.key for c in spec.competencies]
    for axis in drawn:
        label = "".join(next(axis.iter(SVG + "text")).itertext())
        assert label.startswith(labels.competencies[axis.get("data-competency")].split()[0])
        dots = [c for c in axis.iter(SVG + "circle") if "observed-dot" in classes(c)]
        unrated = axis.get("data-competency") in ("strategy", "team-design")
        assert len(dots) == (0 if unrated else 1)
        assert ("unrated" in label) == unrated
    # A filled wedge only between two neighbouring rated axes: 12 edges, 4 touch an unrated one.
    wedges = [p for p in root.iter(SVG + "polygon") if "observed-fill" in classes(p)]
    assert len(wedges) == 12 - 4
    assert "Unrated: shown as a gap, not a zero" in svg_text(root)


def test_radar_marks_gates_and_draws_raw_values_when_present(ladder):
    spec, labels = ladder
    report = report_with(ladder, {c.key for c in spec.competencies})
    gates = {g["competency"] for g in report["gates"]}
    assert gates == {"execution", "developing-people"}  # lead-pm's on the default ladder
    report["gates"] = [  # Readiness v2 lists a gate per level: one unmet one is enough
        {"competency": "execution", "met": True, "level": "lead-pm"},
        {"competency": "developing-people", "met": True, "level": "senior-pm"},
        {"competency": "developing-people", "met": False, "level": "lead-pm"}]
    for c in report["competencies"]:
        c["observed_raw"] = c["observed"] + 0.5
    root = parse_svg(radar_svg(report | {"calibrated_band": "ready_soon"}, labels))
    marks = {a.get("data-competency"): classes(m) for a in axes(root)
             for m in a.iter(SVG + "polygon") if "gate-mark" in classes(m)}
    assert set(marks) == gates
    assert {k for k, cls in marks.items() if "unmet" in cls} == {"developing-people"}
    raw = [c for c in root.iter(SVG + "circle") if "raw-dot" in classes(c)]
    assert len(raw) == 12 + 1  # one per axis, one in the legend
    text = svg_text(root)
    assert "gate not met" in text and "gate met" in text
    assert "Observed before rater adjustment" in text and "Calibrated band: Ready soon" in text
    desc = root.find(SVG + "desc").text
    assert "before rater adjustment" in desc and "a gate, not met" in desc


def test_radar_honours_the_v2_unrated_list(ladder):
    report = report_with(ladder, {"execution", "strategy"})
    report["unrated"] = [{"competency": "execution", "missing": ["manager"]}]
    root = parse_svg(radar_svg(report, ladder[1]))
    execution = next(a for a in axes(root) if a.get("data-competency") == "execution")
    assert not [c for c in execution.iter(SVG + "circle") if "observed-dot" in classes(c)]


def test_radar_without_labels_uses_keys_and_a_scale_from_the_values(ladder):
    report = report_with(ladder, {"execution"})
    root = parse_svg(radar_svg(report))
    assert "scope-judgement" in svg_text(root)
    assert radar_svg(report) == radar_svg(report)  # equal inputs, equal bytes


@pytest.mark.parametrize("n", [1, 2, 3])
def test_radar_of_tiny_rubrics(n):
    report = {"score": 50.0, "band": "developing", "current_level": "a", "target_level": "b",
              "competencies": [{"key": f"c{i}", "expected_current": 1, "expected_target": 2,
                                "observed": 1.5, "flags": []} for i in range(n)],
              "gates": []}
    assert len(axes(parse_svg(radar_svg(report)))) == n


# --- cohort charts -------------------------------------------------------------------------------

COHORT = {"people": 10, "bands": {"ready_now": 1, "ready_soon": 2, "developing": 3,
                                  "not_yet": 4},
          "filters": {"org_unit": "payments", "cycle": None},
          "heat_map": [{"competency": "execution", "mean_gap": 0.75,
                        "by_band": {"ready_now": 0.0, "ready_soon": 0.5, "developing": None,
                                    "not_yet": 3.5}}],
          "rubrics": [{"key": "product-leadership", "version": 1}]}


def test_heatmap_prints_every_value_and_says_nobody(ladder):
    root = parse_svg(heatmap_svg(COHORT, ladder[1]))
    row = next(g for g in root.iter(SVG + "g") if g.get("class") == "row")
    texts = ["".join(t.itertext()) for t in row.iter(SVG + "text")]
    assert texts == ["Execution", "0.75", "0", "0.5", "nobody", "3.5"]
    fills = [classes(r)[0] for r in row.iter(SVG + "rect")]
    assert fills == ["heat-1", "heat-0", "heat-1", "none-cell", "heat-4"]
    assert "org unit payments" in svg_text(root)
    assert "developing nobody" in root.find(SVG + "desc").text


def test_heatmap_of_an_empty_cohort():
    root = parse_svg(heatmap_svg({"people": 0, "bands": {}, "heat_map": []}))
    assert "Nobody in this cohort yet." in svg_text(root)


def test_bands_with_a_guideline():
    guideline = {"ready_now": [0, 15], "ready_soon": [25, 60], "not_yet": [-5, 30],
                 "unknown": [1, 2]}
    root = parse_svg(bands_svg(COHORT, guideline))
    rows = {g.get("data-band"): "".join(g.itertext()) for g in root.iter(SVG + "g")
            if g.get("class") == "band-row"}
    assert "guideline 0\u201315%: within" in rows["ready_now"] and "1 (10%)" in rows["ready_now"]
    assert "guideline 25\u201360%: below" in rows["ready_soon"]
    assert "guideline" not in rows["developing"]
    assert "guideline 0\u201330%: above" in rows["not_yet"]
    # The guideline can also come with the cohort (a calibration session).
    assert bands_svg(COHORT | {"guideline": guideline}) == bands_svg(COHORT, guideline)
    shapes = {g.get("data-band"): next(iter(g)).tag for g in root.iter(SVG + "g")
              if g.get("class") == "band-row"}
    assert len(set(shapes.values()) | {"polygon-cross"}) >= 3  # circle, polygon, rect ...
    assert parse_svg(bands_svg({"people": 0, "bands": {}}))  # nobody: no division by zero


# --- strictness under any input ------------------------------------------------------------------

hostile = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60) | st.sampled_from([
    "<script>alert(1)</script>", "]]><x/>", "&amp;&#0;", "\x00\x01\x0b\ufffe", "\ud800",
    '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "url(http://evil/x)"])


@settings(max_examples=60, deadline=None)
@given(name=hostile, level=hostile, evidence=hostile, person=hostile)
def test_any_text_stays_text(ladder, name, level, evidence, person):
    labels = ladder[1]
    report = report_with(ladder, {"execution", "strategy"})
    odd = Labels({k: name for k in labels.competencies}, {k: level for k in labels.levels},
                 1, 6)
    root = parse_svg(radar_svg(report, odd))
    desc = " ".join(root.find(SVG + "desc").text.split())
    assert " ".join(clean(name).split()) in desc  # came through as text, whole
    parse_svg(heatmap_svg(COHORT, odd))
    page = report_html(Page(report, odd, Subject("E1", person, "a", "2026-H2", "draft"),
                            [RaterGroup("manager", 1, 2, (person,))],
                            [Excerpt("execution", "peer", evidence)])).decode()
    check_html(page)
    assert str(escape(clean(person))) in page


def test_svg_has_no_external_reference_and_its_csp_admits_its_style_only(ladder):
    data = radar_svg(report_with(ladder, {"execution"}), ladder[1])
    root = parse_svg(data)
    assert style_hash(root.find(SVG + "style").text) in svg_csp()
    assert b"http://" not in data.replace(b"http://www.w3.org/2000/svg", b"")
    assert svg_csp(["https://portal.example.com"]).count("frame-ancestors "
                                                         "https://portal.example.com;") == 1


# --- the HTML report -----------------------------------------------------------------------------

def page_of(report, labels, **kwargs) -> str:
    return report_html(Page(report, labels, **kwargs)).decode()


def test_html_report_sections_and_csp(ladder):
    spec, labels = ladder
    report = report_with(ladder, {c.key for c in spec.competencies} - {"strategy"})
    html = page_of(report, labels, subject=Subject("E1", "Ada <b>L</b>", "id-1", "2026-H2",
                                                   "draft"),
                   raters=[RaterGroup("self", 1, 11, ("Ada <b>L</b>",)),
                           RaterGroup("manager", 1, 11, ("Grace",)),
                           RaterGroup("peer", 3, 5)],
                   evidence=[Excerpt("execution", r, f"note {i} <i>x</i>")
                             for i, r in enumerate(["peer", "peer", "peer", "manager", "self",
                                                    "peer"])])
    parsed = check_html(html)
    assert html_csp() == (f"default-src 'none'; style-src {style_hash(parsed.styles[0])}; "
                          "img-src data:; frame-ancestors 'none'; base-uri 'none'; "
                          "form-action 'none'")
    assert parsed.styles[0] == stylesheet()
    assert "Ada &lt;b&gt;L&lt;/b&gt;" in html and "<b>" not in html
    assert [t for t, _ in parsed.tags].count("h1") == 1
    assert "Strategy" in html.split('id="h-unrated"')[1].split("</section>")[0]
    assert report["inputs_digest"] in html and "progress version 2" in html  # the default policy
    # Evidence: every role speaks before one speaks twice; the rest is counted.
    evidence = html.split('id="h-evidence"')[1]
    assert evidence.count("<blockquote>") == 4 and "and 2 more" in evidence
    assert [r for r in ("Peer", "Manager", "Self") if f"&mdash; {r}<" in evidence] == [
        "Peer", "Manager", "Self"]
    assert "not named" in html and "Grace" in html


def test_html_report_renders_readiness_v2_fields_when_present(ladder):
    labels = ladder[1]
    report = report_with(ladder, {"execution", "strategy"})
    report["unrated"] = [{"competency": "team-design", "missing": ["manager", "peer"]}]
    report["gates"] = [{"competency": "execution", "met": False, "level": "lead-pm"}]
    report["calibrated_band"] = "developing"
    for c in report["competencies"]:
        c["observed_raw"] = None if c["observed"] is None else c["observed"] - 0.25
    report["path_to_ready"] = []
    report["path_to_ready_reason"] = "A gate has no rating from anyone but the person."
    html = page_of(report, labels)
    check_html(html)
    assert "(missing: manager, peer)" in html
    assert "<th scope=\"col\">Level</th>" in html and "Lead Product Manager" in html
    assert "Calibrated band" in html and "Before adjustment" in html
    assert "A gate has no rating from anyone but the person." in html


def test_html_report_of_someone_ready(ladder):
    spec, labels = ladder
    report = report_with(ladder, {c.key for c in spec.competencies})
    assert report["band"] == "ready_now"
    html = page_of(report, labels)
    assert "Already ready now" in html and "Every competency has at least one rating." in html


# --- colours -------------------------------------------------------------------------------------

@pytest.mark.parametrize("theme", [palette.LIGHT, palette.DARK], ids=["light", "dark"])
def test_colours_pass_wcag_aa(theme):
    for what, fg, bg in palette.text_pairs(theme):
        assert palette.contrast(fg, bg) >= 4.5, what
    for what, fg, bg in palette.graphic_pairs(theme):
        assert palette.contrast(fg, bg) >= 3, what


# Machado, Oliveira & Fernandes (2009) simulation matrices at full severity, on linear RGB.
CVD = {"protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                      [-0.003882, -0.048116, 1.051998]],
       "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                        [-0.011820, 0.042940, 0.968881]],
       "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                      [0.004733, 0.691367, 0.303900]]}


def _lab(colour: str, matrix) -> np.ndarray:
    srgb = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ np.clip(np.array(matrix) @ linear, 0, 1)
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("theme", [palette.LIGHT, palette.DARK], ids=["light", "dark"])
@pytest.mark.parametrize("deficiency", sorted(CVD))
def test_band_colours_stay_apart_under_colour_vision_deficiencies(theme, deficiency):
    labs = {b: _lab(c, CVD[deficiency]) for b, c in theme.bands.items()}
    for a, b in itertools.combinations(palette.BANDS, 2):
        assert np.linalg.norm(labs[a] - labs[b]) >= 12, (a, b)  # CIE76 delta E


def test_bands_differ_without_colour():
    assert len(set(palette.BAND_SHAPES.values())) == len(palette.BANDS)
    assert len(set(palette.BAND_SYMBOLS.values())) == len(palette.BANDS)
    assert len(set(palette.BAND_LABELS.values())) == len(palette.BANDS)


# --- small pieces --------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [(4.2857, "4.29"), (5.0, "5"), (0.5, "0.5"),
                                             (-0.001, "0"), (None, "\u2013"), (math.nan,
                                                                              "\u2013")])
def test_numbers(value, text):
    assert fmt(value) == text


@pytest.mark.parametrize(("csp", "allowed"), [
    ("default-src 'none'", False), ("frame-ancestors 'none'; x", False),
    ("default-src 'none'; frame-ancestors https://a.example.com", True),
    ("FRAME-ANCESTORS 'self'", True), ("frame-ancestors", False)])
def test_frames_allowed(csp, allowed):
    assert frames_allowed(csp) is allowed
