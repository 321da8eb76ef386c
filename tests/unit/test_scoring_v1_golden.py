"""Policy `progress` v1 stays byte-reproducible: these hashes were taken from the v1 reports
of fixed inputs before v2 existed (commit "golden v1 hashes"), and must never change."""

import hashlib

from service.readiness.scoring import PROGRESS_V1, canonical_json, score
from tests.golden_inputs import cases, frozen_rubric

GOLDEN_ALL = "5de031360cbceac190a98930dceffc166e4af7b286690b802f03ae8038bffa8d"
GOLDEN_FIRST = [
    "346b34aaa16cfacaac03e536e47d4e20191d38a750d1d6d9b9e971275afec1ba",
    "420807abaf3be78aa03b9dbbb541f4ce6ab37a2d24776eb9f490a053d7b05ac1",
    "d4dc5aeebb2951ab95b522b9886f53b045d6542ca2482a81d4ef64aaa290e802",
]


def test_v1_reports_of_fixed_inputs_are_byte_identical_to_those_before_v2():
    rubric = frozen_rubric()
    whole = hashlib.sha256()
    first = []
    for i, case in enumerate(cases(rubric, 400)):
        raw = canonical_json(score(rubric, case.current, list(case.ratings), case.target,
                                   PROGRESS_V1))
        whole.update(raw)
        if i < 3:
            first.append(hashlib.sha256(raw).hexdigest())
    assert first == GOLDEN_FIRST
    assert whole.hexdigest() == GOLDEN_ALL
