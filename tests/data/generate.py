"""The sample review cycle in ``tests/data/``: a few hundred product people across five org
units on the default ``product-leadership`` ladder, rated by themselves, their managers, peers,
their reports (upward) and others, with a handful of deliberately bad rows. Deterministic:
the same seed writes the same bytes.

    python tests/data/generate.py            # (re)write the sample files
    python tests/data/generate.py --check    # exit 1 when the committed files are stale

Files: ``cycle-2026-h2.jsonl`` (one assessment a line), ``cycle-2026-h2.csv`` (one rating a
row; the same cycle) and ``cycle-2026-h2.expected.json`` (the line and field of every bad row
in each file, which the tests compare with what an import reports). ``bench/bulk.py`` uses
``cycle()`` and the writers for its large files.
"""

import csv
import io
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NAME = "cycle-2026-h2"
RUBRIC = "product-leadership"
LEVELS = ["apm", "pm", "senior-pm", "lead-pm", "director", "vp"]  # cpo has no next level
COMPETENCIES = ["scope-judgement", "execution", "business-understanding", "strategy",
                "trust-collaboration", "developing-people", "team-design", "operating-model",
                "communication-influence", "value-outcomes", "org-improvement",
                "self-leadership"]
ORG_UNITS = ["payments", "growth", "platform", "marketplace", "data-products"]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret",
         "Dennis", "Radia", "Tim", "Katherine", "Linus", "Hedy", "John", "Anita", "Guido",
         "Shafi", "Niklaus"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
        "Hamilton", "Ritchie", "Perlman", "Berners-Lee", "Johnson", "Torvalds", "Lamarr",
        "Backus", "Borg", "van Rossum", "Goldwasser", "Wirth"]
EVIDENCE = ["Led the quarterly planning for the area", "Shipped the checkout redesign on time",
            "Mentored two associate PMs", "Wrote the pricing strategy memo",
            "Ran the customer interview programme", "Untangled the launch dependencies",
            "Presented the roadmap to the executive team", "Set up the weekly metrics review",
            "Resolved the platform ownership dispute", "Hired three product managers", ""]
CSV_HEADER = ["external_id", "display_name", "email", "org_unit", "manager_external_id",
              "rubric", "current_level", "target_level", "cycle", "status", "competency",
              "rater_role", "rater_id", "proficiency", "evidence"]

# kind -> (JSON field path (``{i}``: the rating), CSV column): what the import must report
BAD = {
    "proficiency_out_of_scale": ("ratings[{i}].proficiency", "proficiency"),
    "unknown_competency": ("ratings[{i}].competency", "competency"),
    "unknown_level": ("person.level", "current_level"),
    "manager_without_rater_id": ("ratings[{i}].rater_id", "rater_id"),
    "bad_email": ("person.email", "email"),
    "target_not_above": ("target_level", "target_level"),
    "unknown_rater_role": ("ratings[{i}].rater_role", "rater_role"),
}


def _people(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """An org chart: per org unit a director, lead PMs under them, the rest under the leads."""
    people: list[dict[str, Any]] = []
    per_unit = max(1, n // len(ORG_UNITS))
    for u, unit in enumerate(ORG_UNITS):
        size = per_unit if u < len(ORG_UNITS) - 1 else n - per_unit * (len(ORG_UNITS) - 1)
        leads: list[str] = []
        director = None
        for k in range(size):
            external_id = f"E{10000 + len(people)}"
            if k == 0:
                level, manager = ("vp" if u == 0 else "director"), None
            elif k <= max(1, size // 12):
                level, manager = "lead-pm", director
            else:
                level = rng.choice(["apm", "pm", "pm", "senior-pm", "senior-pm"])
                manager = leads[k % len(leads)] if leads else director
            first, last = FIRST[len(people) % len(FIRST)], LAST[(len(people) // 7) % len(LAST)]
            people.append({
                "external_id": external_id, "display_name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower().replace(' ', '')}"
                         f"{len(people)}@example.com",
                "org_unit": unit, "manager_external_id": manager, "rubric": RUBRIC,
                "level": level})
            if k == 0:
                director = external_id
            elif level == "lead-pm":
                leads.append(external_id)
    return people


def _rating(rng: random.Random, competency: str, role: str, rater: str | None,
            level: str) -> dict[str, Any]:
    base = LEVELS.index(level) + 1
    return {"competency": competency, "rater_role": role, "rater_id": rater,
            "proficiency": max(1, min(6, base + rng.choice([-1, 0, 0, 1, 1, 2]))),
            "evidence": rng.choice(EVIDENCE)}


def cycle(n: int = 300, *, seed: int = 2026, name: str = "2026-H2", bench: bool = False,
          bad: bool = True) -> Iterator[dict[str, Any]]:
    """Assessments in the JSON line shape. ``bench``: exactly 10 ratings each (self 4,
    manager 4, peer 2) and plain drafts. ``bad``: corrupt a few (see ``BAD``); the kind is in
    the private ``_bad`` key, which the writers drop."""
    rng = random.Random(seed)
    people = _people(n, rng)
    reports: dict[str, list[str]] = {}
    for p in people:
        if p["manager_external_id"]:
            reports.setdefault(p["manager_external_id"], []).append(p["external_id"])
    by_unit: dict[str, list[str]] = {}
    for p in people:
        by_unit.setdefault(p["org_unit"], []).append(p["external_id"])
    kinds = list(BAD) if bad else []
    every = max(1, n // (len(kinds) + 1)) if kinds else 0
    for i, person in enumerate(people):
        picks = rng.sample(COMPETENCIES, 5)
        me, manager, level = person["external_id"], person["manager_external_id"], \
            person["level"]
        peers = [x for x in by_unit[person["org_unit"]] if x != me]
        ratings = [_rating(rng, c, "self", me, level) for c in picks[:4]]
        if manager:
            ratings += [_rating(rng, c, "manager", manager, level)
                        for c in picks[:4 if bench else 5]]
        for peer in rng.sample(peers, min(len(peers), 1 if bench else 2)):
            ratings += [_rating(rng, c, "peer", peer, level)
                        for c in picks[:2 if bench else 3]]
        if not bench and reports.get(me):
            ratings += [_rating(rng, c, "upward", reports[me][0], level) for c in picks[:2]]
        if not bench and i % 10 == 3:
            ratings += [_rating(rng, picks[4], "other", "HRBP-1", level)]
        if bench and len(ratings) < 10:  # the heads of the org have no manager rating
            ratings += [_rating(rng, c, "other", "HRBP-1", level)
                        for c in picks[:10 - len(ratings)]]
        doc: dict[str, Any] = {"person": dict(person), "rubric": RUBRIC, "cycle": name,
                               "ratings": ratings}
        if not bench:
            doc["status"] = "finalized" if i % 10 == 1 else "submitted" if i % 4 == 2 \
                else "draft"
        if kinds and i % every == every // 2 and i // every < len(kinds):
            _corrupt(doc, kinds[i // every])
        yield doc


def _corrupt(doc: dict[str, Any], kind: str) -> None:
    ratings, person = doc["ratings"], doc["person"]
    target = 1
    if kind == "proficiency_out_of_scale":
        ratings[target]["proficiency"] = 9
    elif kind == "unknown_competency":
        ratings[target]["competency"] = "strategic-thinking"
    elif kind == "unknown_level":
        person["level"] = "principal-pm"
        target = None
    elif kind == "manager_without_rater_id":
        target = next(k for k, r in enumerate(ratings) if r["rater_role"] != "self")
        ratings[target]["rater_role"], ratings[target]["rater_id"] = "manager", None
    elif kind == "bad_email":
        person["email"], target = "not-an-email", None
    elif kind == "target_not_above":
        doc["target_level"], target = person["level"], None
    elif kind == "unknown_rater_role":
        ratings[target]["rater_role"] = "coach"
    doc["_bad"] = {"kind": kind, "rating": target}


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in doc.items() if k != "_bad"}
    doc["ratings"] = [{k: v for k, v in r.items() if v not in (None, "")}
                      for r in doc["ratings"]]
    doc["person"] = {k: v for k, v in doc["person"].items() if v is not None}
    return doc


def write_jsonl(docs, out: io.TextIOBase) -> list[dict[str, Any]]:
    """Write the lines; returns the bad rows as the import must report them."""
    expected = []
    for line, doc in enumerate(docs, start=1):
        out.write(json.dumps(_public(doc), ensure_ascii=False) + "\n")
        if bad := doc.get("_bad"):
            path = BAD[bad["kind"]][0].format(i=bad["rating"])
            expected.append({"line": line, "field": path, "kind": bad["kind"]})
    return expected


def write_csv(docs, out: io.TextIOBase) -> list[dict[str, Any]]:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    expected, line = [], 1
    for doc in docs:
        p = doc["person"]
        head = [p["external_id"], p["display_name"], p["email"], p["org_unit"],
                p["manager_external_id"] or "", doc["rubric"], p["level"],
                doc.get("target_level", ""), doc["cycle"], doc.get("status", "")]
        first = line + 1
        for r in doc["ratings"]:
            writer.writerow([*head, r["competency"], r["rater_role"], r["rater_id"] or "",
                             r["proficiency"], r["evidence"]])
            line += 1
        if bad := doc.get("_bad"):
            at = first + bad["rating"] if bad["rating"] is not None else first
            expected.append({"line": at, "field": BAD[bad["kind"]][1], "kind": bad["kind"]})
    return expected


def render() -> dict[str, str]:
    """File name -> content of every sample file."""
    jsonl, csv_text = io.StringIO(), io.StringIO()
    expected = {"jsonl": write_jsonl(cycle(), jsonl), "csv": write_csv(cycle(), csv_text)}
    docs = list(cycle())
    summary = {"assessments": len(docs), "bad": len(expected["jsonl"]),
               "ratings": sum(len(d["ratings"]) for d in docs),
               "submitted": sum(d.get("status") == "submitted" and "_bad" not in d
                                for d in docs),
               "finalized": sum(d.get("status") == "finalized" and "_bad" not in d
                                for d in docs)}
    return {f"{NAME}.jsonl": jsonl.getvalue(), f"{NAME}.csv": csv_text.getvalue(),
            f"{NAME}.expected.json": json.dumps(summary | expected, indent=1) + "\n"}


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [n for n, text in files.items()
                 if not (HERE / n).exists() or (HERE / n).read_text() != text]
        print("stale: " + ", ".join(stale) if stale else "up to date")
        return 1 if stale else 0
    for name, text in files.items():
        (HERE / name).write_text(text)
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
