"""GraphQL for tests: post a document to /graphql and get the decoded answer."""

import re
from typing import Any


async def gql(client, query: str, variables: dict[str, Any] | None = None, *,
              status: int = 200) -> dict[str, Any]:
    """POST a GraphQL document; asserts the HTTP status and returns the JSON answer."""
    response = await client.post("/graphql", json={"query": with_fragments(query),
                                                   "variables": variables or {}})
    assert response.status_code == status, response.text
    return response.json()


def codes(answer: dict[str, Any]) -> list[str]:
    """The `extensions.code` of every error of an answer, in order."""
    return [e.get("extensions", {}).get("code") for e in answer.get("errors") or []]


def snake(value: Any) -> Any:
    """A GraphQL answer with REST's key names (``pathToReady`` -> ``path_to_ready``)."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake(v) for v in value]
    return value


# Every field of the types REST also answers (parity tests compare them field for field);
# ``gql`` appends the ones a document spreads (GraphQL refuses unused fragments).
FRAGMENTS = {
    "PersonFields": """fragment PersonFields on Person { id externalId displayName email orgUnit
      managerExternalId rubric level active createdAt updatedAt }""",
    "AssessmentFields": """fragment AssessmentFields on Assessment { id person
      rubric { key version } currentLevel targetLevel cycle status orgUnit supersedes
      supersededBy createdAt updatedAt submittedAt finalizedAt
      ratings { competency raterRole raterId proficiency evidence } }""",
    "ReportFields": """fragment ReportFields on ReadinessReport { score band coverage
      currentLevel targetLevel confidence { level value reasons }
      competencies { key weight expectedCurrent expectedFrom expectedTarget observed gap progress
                     contribution flags }
      gates { competency level bar observedWithoutSelf met }
      unrated { competency missing }
      topGaps { competency gap recommendations { kind title detail } }
      pathToReady { competency from to } pathToReadyReason
      policy { name version } rubric { key version } inputsDigest }""",
    "OutlineFields": """fragment OutlineFields on Outline { id template { key version } title
      status values person assessmentId competencies owner createdBy createdAt updatedAt }""",
}


def with_fragments(query: str) -> str:
    return "\n".join([query, *(text for name, text in FRAGMENTS.items()
                                if f"...{name}" in query)])
