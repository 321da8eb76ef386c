"""Wire primitives every domain's ``schemas.py`` shares: the strict base model and the
constrained string types, defined once so a rule about keys or names changes in one place."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Stable keys (rubrics, levels, competencies, templates, options): lower-case slugs.
KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# HRIS ids: letters, digits and the usual separators; never "/" (they sit in URL paths).
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,199}$"

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
ExternalId = Annotated[str, StringConstraints(pattern=EXTERNAL_ID_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=10_000)]


class Strict(BaseModel):
    """Request and document models: an unknown member is a 422, never silently dropped."""

    model_config = ConfigDict(extra="forbid")
