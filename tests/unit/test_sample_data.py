"""The sample cycle in tests/data/ is what its generator writes (so it stays reproducible)."""

import json

from tests.data import generate


def test_the_committed_sample_is_what_the_generator_writes(capsys):
    assert generate.main(["--check"]) == 0, capsys.readouterr().out


def test_the_sample_has_every_rater_role_and_its_bad_rows_listed():
    docs = list(generate.cycle())
    roles = {r["rater_role"] for d in docs for r in d["ratings"]}
    assert {"self", "manager", "peer", "upward", "other"} <= roles
    assert len({d["person"]["org_unit"] for d in docs}) == 5
    expected = json.loads((generate.HERE / f"{generate.NAME}.expected.json").read_text())
    assert [e["kind"] for e in expected["jsonl"]] == list(generate.BAD)
    assert len(expected["csv"]) == expected["bad"] == len(generate.BAD)
