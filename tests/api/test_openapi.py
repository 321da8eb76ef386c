"""The committed OpenAPI document is what the app serves, and it declares every problem."""

import json
import re
from pathlib import Path

from service.cli import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app():
    assert COMMITTED.exists(), "run `make openapi`"
    assert json.loads(COMMITTED.read_text()) == openapi_document(), (
        "openapi/openapi.json is stale: run `make openapi` and commit it")


def test_operation_ids_are_stable_and_unique():
    doc = openapi_document()
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for op_id in ids:
        assert re.fullmatch(r"[a-z][a-z-]*_[a-z][a-z_]*", op_id), op_id


def test_every_v1_operation_declares_its_problems_as_problem_json():
    doc = openapi_document()
    for path, item in doc["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            for status in ("401", "403", "422", "500"):
                content = op["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
