"""Wire primitives every domain's ``schemas.py`` shares: the strict base model and the
constrained string types, defined once so a rule about keys or names changes in one place;
the NUL rule every entry point applies; the YAML loader for documents from outside."""

import uuid
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic import Strict as StrictMode
from yaml.composer import ComposerError

from .problems import FieldError, InvalidInput

# Stable keys (rubrics, levels, competencies, templates, options): lower-case slugs.
KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# HRIS ids: letters, digits and the usual separators; never "/" (they sit in URL paths).
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,199}$"

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
ExternalId = Annotated[str, StringConstraints(pattern=EXTERNAL_ID_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=10_000)]
VersionNumber = Annotated[int, Field(ge=1, le=1_000_000)]  # of a rubric, template or policy


# What JSON can only carry as text (an enum's value, a UUID) is taken from text even by the
# strict models below: ``Annotated[RaterRole, AsText]``.
AsText = StrictMode(False)
Uuid = Annotated[uuid.UUID, AsText]


class Strict(BaseModel):
    """Request and document models: an unknown member is a 422, never silently dropped, and
    values must have their JSON type (``"proficiency": "4"`` is a 422, not 4). Readers of
    text formats (bulk CSV) validate with ``strict=False`` to convert cells."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- NUL characters ------------------------------------------------------------------------
# One rule for every way text enters (JSON bodies, query and path parameters, headers, YAML
# and JSON documents, bulk lines and CSV cells, GraphQL variables and literals): a U+0000
# anywhere is refused, naming where it sits. PostgreSQL cannot store it in text, SQLite would,
# so refusing it everywhere keeps the two backends alike (and keeps it out of logs and CSVs).
NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"


def escape_nul(text: str) -> str:
    """Text as it may be stored or shown (a field path, a bulk row error quoting the file):
    a NUL inside it written as ``\\u0000``."""
    return text.replace(NUL, "\\u0000")


def nul_paths(value: Any, prefix: str = "", limit: int = 20) -> list[str]:
    """Field paths (``ratings[1].evidence``, as ``problems.field_path`` writes them) of the
    strings, and mapping keys, holding a NUL in a parsed document; at most ``limit``.
    Iterative, so a deeply nested document cannot exhaust the stack."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack and len(found) < limit:
        path, item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                found.append(path or "body")
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                name = escape_nul(str(key))
                child_path = f"{path}.{name}" if path else name
                if isinstance(key, str) and NUL in key:
                    found.append(child_path)
                children.append((child_path, child))
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(item))))
    return found[:limit]


def nul_error(paths: list[str]) -> InvalidInput:
    return InvalidInput("Text must not contain the NUL character (U+0000).",
                        [FieldError(field=path, message=NUL_MESSAGE) for path in paths])


def reject_nul(value: Any, prefix: str = "") -> None:
    """422 naming every field of ``value`` (a parsed document) that holds a NUL."""
    if paths := nul_paths(value, prefix):
        raise nul_error(paths)


# --- YAML documents ------------------------------------------------------------------------
MAX_YAML_DEPTH = 64  # a rubric document nests 5 deep


class _DocumentLoader(yaml.SafeLoader):
    """``safe_load`` for documents from outside: no aliases (a few lines of nested aliases
    expand to billions of nodes for whatever walks the result) and a nesting limit (PyYAML
    composes nodes recursively, so 10,000 ``[`` would exhaust the stack)."""

    depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise ComposerError(None, None, "aliases (*name) are not accepted",
                                self.peek_event().start_mark)
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels",
                                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_yaml(raw: bytes | str) -> Any:
    """One YAML document (``yaml.YAMLError`` when it is not one this API accepts)."""
    return yaml.load(raw, Loader=_DocumentLoader)  # a SafeLoader: no Python objects
