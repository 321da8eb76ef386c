"""The readiness report of one person as a self-contained HTML document.

Jinja2 with autoescaping on for everything: a name, evidence or a rubric title is always
text. The only markup inserted unescaped is the radar, which ElementTree built (and escaped)
itself, and the constant stylesheet. No script, no external asset: one <style> element, whose
hash is the whole of the page's ``style-src`` (see ``csp``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .palette import BAND_LABELS, BAND_SYMBOLS, chart_stylesheet, csp_hash
from .radar import gate_state, radar, unrated_keys
from .svg import Labels, clean, clip, fmt, to_text

ROLE_LABELS = {"self": "Self", "manager": "Manager", "peer": "Peer", "upward": "Direct report",
               "other": "Other"}
ROLE_PLURALS = {"self": "Self", "manager": "Managers", "peer": "Peers",
                "upward": "Direct reports (upward)", "other": "Others"}
FLAG_LABELS = {"gate_unmet": "gate not met", "blind_spot": "blind spot (self rating well above "
               "the others)", "hidden_strength": "hidden strength (others rate well above "
               "self)", "no_evidence": "no evidence given", "unrated": "unrated",
               "raters_disagree": "raters disagree"}
EXCERPT_CHARS = 280
EXCERPTS_PER_COMPETENCY = 4


@dataclass(frozen=True)
class Subject:
    """Who and which assessment the report is about."""

    external_id: str
    name: str | None = None
    assessment_id: str | None = None
    cycle: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class RaterGroup:
    """One role's raters. ``names`` is empty for roles shown without names (peers, reports)."""

    role: str
    raters: int
    ratings: int
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Excerpt:
    competency: str
    role: str
    text: str


@dataclass(frozen=True)
class Page:
    report: Mapping[str, Any]
    labels: Labels = field(default_factory=Labels)
    subject: Subject | None = None
    raters: Sequence[RaterGroup] = ()
    evidence: Sequence[Excerpt] = field(default_factory=tuple)


_PAGE_CSS = """
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg)}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;
max-width:50rem;margin:0 auto;padding:1.5rem 1rem 3rem;overflow-wrap:break-word}
h1{font-size:1.7rem;margin:.2rem 0 .3rem;line-height:1.25}
h2{font-size:1.25rem;margin:2rem 0 .6rem;padding-bottom:.2rem;border-bottom:1px solid
var(--grid)}
h3{font-size:1.05rem;margin:1.2rem 0 .3rem}
p,ul,ol,dl{margin:.4rem 0}
.sub,.muted,figcaption,caption{color:var(--muted)}
.headline{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0;padding:.8rem 1rem;
background:var(--panel);border-left:6px solid var(--grid)}
.headline div{min-width:8rem}
.headline .big{font-size:1.5rem;font-weight:700;display:block}
.band-ready_now{border-left-color:var(--band-ready-now)}
.band-ready_soon{border-left-color:var(--band-ready-soon)}
.band-developing{border-left-color:var(--band-developing)}
.band-not_yet{border-left-color:var(--band-not-yet)}
.symbol-ready_now{color:var(--band-ready-now)}
.symbol-ready_soon{color:var(--band-ready-soon)}
.symbol-developing{color:var(--band-developing)}
.symbol-not_yet{color:var(--band-not-yet)}
figure{margin:1rem 0}
figure svg{width:100%;height:auto;display:block;max-width:100%}
table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:.92rem}
caption{text-align:left;padding:.2rem 0;font-size:.9rem}
th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid var(--grid);
vertical-align:top}
tbody th,td.names{overflow-wrap:anywhere}
tbody th{min-width:10rem}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
@media screen and (min-width:48rem){td.notes{min-width:7rem}}
tbody tr:nth-child(even){background:var(--panel)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;
overflow-wrap:anywhere}
blockquote{margin:.4rem 0;padding:.3rem .8rem;border-left:3px solid var(--grid);
background:var(--panel);overflow-wrap:anywhere}
blockquote p{margin:0}
.who{color:var(--muted);font-size:.9rem}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dl.meta dt{font-weight:600}
dl.meta dd{margin:0;overflow-wrap:anywhere}
.gap{break-inside:avoid}
@page{margin:15mm}
@media print{
body{max-width:none;padding:0;font-size:10pt}
h2{break-after:avoid}
h3{break-after:avoid}
figure,tr,blockquote,.headline{break-inside:avoid}
figure svg{max-height:150mm}
table{font-size:8.5pt}
th,td{padding:.2rem .3rem}
}
"""


@cache
def stylesheet() -> str:
    """The page's one <style>: the charts' rules (light and dark) and the page's."""
    return chart_stylesheet() + _PAGE_CSS


def csp(frame_ancestors: Sequence[str] = ()) -> str:
    """Nothing loads, nothing runs: only this exact stylesheet, and data: images (the icon).
    ``frame_ancestors``: origins allowed to embed the report; none by default."""
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    return (f"default-src 'none'; style-src {csp_hash(stylesheet())}; img-src data:; "
            f"frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'")


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("service.readiness.render", "templates"),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = fmt
    env.filters["clean"] = clean
    return env


def _flags(flags: Sequence[str]) -> str:
    return ", ".join(FLAG_LABELS.get(f, f.replace("_", " ")) for f in flags)


def _rows(report: Mapping[str, Any], labels: Labels) -> list[dict[str, Any]]:
    unrated, gates = unrated_keys(report), gate_state(report)
    rows = []
    for c in report.get("competencies", ()):
        notes = list(c.get("flags", ()))
        if c["key"] in unrated and "unrated" not in notes:
            notes.append("unrated")
        rows.append({
            "name": labels.competency(c["key"]), "weight": fmt(c.get("weight")),
            "current": fmt(c.get("expected_current")), "target": fmt(c.get("expected_target")),
            "observed": "not rated" if c["key"] in unrated else fmt(c.get("observed")),
            "raw": fmt(c.get("observed_raw")), "gap": fmt(c.get("gap")),
            "progress": f"{round(100 * (c.get('progress') or 0))}%",
            "gate": c["key"] in gates, "notes": _flags(notes)})
    return rows


def _unrated(report: Mapping[str, Any], labels: Labels) -> list[dict[str, str]]:
    """Unrated competencies in rubric order, with the roles still missing when the report
    says (Readiness v2's ``unrated`` list)."""
    missing = {u["competency"]: u.get("missing") or [] for u in report.get("unrated") or ()}
    order = [c["key"] for c in report.get("competencies", ())]
    keys = unrated_keys(report)
    return [{"name": labels.competency(key),
             "missing": ", ".join(ROLE_LABELS.get(m, m).lower() for m in missing.get(key, []))}
            for key in [k for k in order if k in keys] + sorted(keys - set(order))]


def _evidence(page: Page) -> list[dict[str, Any]]:
    """Excerpts per competency in rubric order; where there are more than fit, every role
    speaks once before any role speaks twice."""
    order = [c["key"] for c in page.report.get("competencies", ())]
    grouped: dict[str, list[Excerpt]] = {}
    for e in page.evidence:
        if e.text and e.text.strip():
            grouped.setdefault(e.competency, []).append(e)
    out = []
    for key in sorted(grouped, key=lambda k: (order.index(k) if k in order else len(order), k)):
        seen: dict[str, int] = {}
        ranked = []
        for i, e in enumerate(grouped[key]):
            seen[e.role] = seen.get(e.role, -1) + 1
            ranked.append((seen[e.role], i, e))
        items = [e for _, _, e in sorted(ranked, key=lambda t: t[:2])]
        out.append({"name": page.labels.competency(key),
                    "excerpts": [{"role": ROLE_LABELS.get(e.role, e.role),
                                  "text": clip(e.text, EXCERPT_CHARS)}
                                 for e in items[:EXCERPTS_PER_COMPETENCY]],
                    "more": max(0, len(items) - EXCERPTS_PER_COMPETENCY)})
    return out


def _ref(value: Any, name: str) -> str:
    value = value or {}
    return f"{value.get(name, '')} version {value.get('version', '')}"


def render(page: Page) -> bytes:
    report, labels = page.report, page.labels
    band = report.get("band", "")
    calibrated = report.get("calibrated_band")
    gates = [{"name": labels.competency(g["competency"]), "level": (
        labels.level(g["level"]) if g.get("level") else None), "met": bool(g.get("met"))}
        for g in report.get("gates", ())]
    context = {
        "css": Markup(stylesheet()),  # a constant: safe to insert as is
        "radar": Markup(to_text(radar(report, labels, id_prefix="radar"))),  # escaped by ET
        "subject": page.subject,
        "person": clean(page.subject.name or page.subject.external_id) if page.subject
        else None,
        "band": band, "band_label": BAND_LABELS.get(band, band),
        "band_symbol": BAND_SYMBOLS.get(band, ""),
        "calibrated": calibrated and {"band": calibrated, "label": BAND_LABELS.get(
            calibrated, calibrated), "symbol": BAND_SYMBOLS.get(calibrated, "")},
        "score": fmt(report.get("score"), 1), "coverage": fmt(report.get("coverage"), 1),
        "confidence": {"level": (report.get("confidence") or {}).get("level", "unknown"),
                       "value": (report.get("confidence") or {}).get("value"),
                       "reasons": (report.get("confidence") or {}).get("reasons") or []},
        "current": labels.level(report.get("current_level", "")),
        "target": labels.level(report.get("target_level", "")),
        "rows": _rows(report, labels),
        "has_raw": any(c.get("observed_raw") is not None
                       for c in report.get("competencies", ())),
        "top_gaps": [{"name": labels.competency(g["competency"]), "gap": fmt(g.get("gap")),
                      "recommendations": g.get("recommendations") or []}
                     for g in report.get("top_gaps", ())],
        "path": [{"name": labels.competency(p["competency"]), "from": fmt(p.get("from")),
                  "to": fmt(p.get("to"))} for p in report.get("path_to_ready", ())],
        "path_reason": report.get("path_to_ready_reason"),
        "unrated": _unrated(report, labels),
        "gates": gates, "gate_levels": any(g["level"] for g in gates),
        "raters": [{"role": ROLE_PLURALS.get(r.role, r.role), "raters": r.raters,
                    "ratings": r.ratings, "names": [clip(n, 80) for n in r.names],
                    "anonymous": not r.names and r.role in ("peer", "upward")}
                   for r in page.raters],
        "evidence": _evidence(page),
        "policy": _ref(report.get("policy"), "name"), "rubric": _ref(report.get("rubric"), "key"),
        "digest": report.get("inputs_digest", ""),
        "calibration_id": report.get("calibration_id"),
    }
    return _environment().get_template("report.html").render(context).encode()
