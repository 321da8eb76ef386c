"""canonical_json writes exactly what json.dumps (sorted keys, compact, UTF-8) writes, whichever
encoder it takes: stored report bytes and their hashes must not move."""

import json
import random

import pytest

from service.readiness.scoring import canonical_json


def reference(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


class Label(str):
    pass


@pytest.mark.parametrize("value", [
    {"tiny": 1e-05}, {"tiny": [-2.5e-07, 0.00012]}, {"big": 1e16}, {"huge": 10 ** 30},
    {1: "int key"}, {"sub": Label("x")}, {"text": "é € \u2028 \x1f"}, {"nested": {"b": 1, "a": 2}},
])
def test_edge_values_match_json(value):
    assert canonical_json(value) == reference(value)


def test_random_reports_match_json():
    rng = random.Random(7)
    for _ in range(3000):
        value = {f"k{rng.randint(0, 9)}": [rng.random() * 10 ** rng.uniform(-9, 18),
                                           round(rng.random(), 4), rng.randint(-10**12, 10**12),
                                           None, True, "ü"]}
        assert canonical_json(value) == reference(value)
