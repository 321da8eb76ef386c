"""Readiness rendering cost: prints figures, never passes or fails on time.

    python bench/render.py [--n 300]

On the default product-leadership ladder (12 competencies), a report with 11 competencies
rated by four raters, it times per call, on the pure renderers (no HTTP, no database):
  radar     radar_svg(): the standalone SVG document
  html      report_html(): the whole page, radar and tables included, with 44 excerpts
  heatmap   heatmap_svg() of a 12-competency cohort report
  bands     bands_svg() with a guideline
and prints the size of each output.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

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
    radar_svg,
    report_html,
)
from service.rubrics.service import parse_document

CONTENT = Path(__file__).resolve().parents[1] / "service" / "rubrics" / "content"


def timed(fn: Callable[[], bytes], n: int) -> tuple[float, int]:
    size = len(fn())  # warm: templates compiled, caches filled
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    n = parser.parse_args().n
    doc = parse_document((CONTENT / "product-leadership.2.yaml").read_bytes(), "application/yaml")
    spec = readiness.to_spec(doc, 1)
    labels = Labels({c.key: c.name for c in doc.competencies},
                    {lv.key: lv.name for lv in doc.levels}, doc.scale.min, doc.scale.max)
    ratings = [scoring.Rating(c.key, role, rater, c.expected[3] - (i % 3 == 0),
                              f"{role} saw {c.key} in the payments launch")
               for i, c in enumerate(spec.competencies[:11])
               for role, rater in (("manager", "M1"), ("self", "E1"), ("peer", "P1"),
                                   ("peer", "P2"))]
    report = scoring.score(spec, "senior-pm", ratings)
    page = Page(report, labels, Subject("E1", "Ada Lovelace", "id", "2026-H2", "draft"),
                [RaterGroup("self", 1, 11, ("Ada Lovelace",)),
                 RaterGroup("manager", 1, 11, ("Grace Hopper",)), RaterGroup("peer", 2, 22)],
                [Excerpt(r.competency, r.rater_role, r.evidence) for r in ratings])
    cohort = {"people": 300, "bands": {"ready_now": 30, "ready_soon": 60, "developing": 120,
                                       "not_yet": 90},
              "heat_map": [{"competency": c.key, "mean_gap": 0.2 * i, "by_band": {
                  "ready_now": 0.05 * i, "ready_soon": 0.1 * i, "developing": 0.2 * i,
                  "not_yet": 0.3 * i}} for i, c in enumerate(spec.competencies)]}
    cases = {"radar": lambda: radar_svg(report, labels),
             "html": lambda: report_html(page),
             "heatmap": lambda: heatmap_svg(cohort, labels),
             "bands": lambda: bands_svg(cohort, {"ready_now": [0, 15], "not_yet": [10, 30]})}
    print(f"{'render':<8} {'ms/call':>8} {'calls/s':>8} {'bytes':>8}   (n={n})")
    for name, fn in cases.items():
        ms, size = timed(fn, n)
        print(f"{name:<8} {ms:8.2f} {1000 / ms:8.0f} {size:8d}")


if __name__ == "__main__":
    main()
