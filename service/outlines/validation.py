"""Pure checks (no database): a template definition before it is published, and an outline's
values against the fields of its template version.

Both report every violation at once as ``FieldError``s. References into other domains
(rubrics, people) are resolved by the caller: rubric lookups through a function passed in,
person ids returned to be checked in one batch."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..problems import FieldError
from ..rubrics.published import PublishedRubric
from .schemas import TEXT_LIMIT, TemplateContent, TemplateField

# Defaults when a field sets no bound of its own.
DEFAULT_MAX_LENGTH = {"text": 1_000, "markdown": 20_000, "list": 1_000}
DEFAULT_MAX_ITEMS = 50
MULTIPLE_TYPES = {"enum", "competency", "level", "person"}
RUBRIC_TYPES = {"competency", "level"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# A rubric key -> its latest published version (None: it has none).
RubricLookup = Callable[[str], PublishedRubric | None]


def repeats(keys: Iterable[str]) -> list[bool]:
    """For each key, whether it already appeared earlier in the list."""
    seen: set[str] = set()
    return [k in seen or seen.add(k) is not None for k in keys]


# --- template definitions --------------------------------------------------------------------

def definition_errors(content: TemplateContent, rubric: RubricLookup) -> list[FieldError]:
    """Every rule a published template version must satisfy."""
    errors: list[FieldError] = []
    if not content.fields:
        errors.append(FieldError(field="fields", message="at least one field is required"))
    closed_groups: set[str] = set()
    previous_group: str | None = None
    for i, (f, repeated) in enumerate(zip(content.fields,
                                          repeats(f.key for f in content.fields), strict=True)):
        at = f"fields[{i}]"
        if repeated:
            errors.append(FieldError(field=f"{at}.key", message=f"duplicate field key '{f.key}'"))
        errors.extend(FieldError(field=f"{at}.{name}", message=message)
                      for name, message in _field_rules(f, rubric))
        if f.group != previous_group:
            if previous_group is not None:
                closed_groups.add(previous_group)
            if f.group in closed_groups:
                errors.append(FieldError(field=f"{at}.group", message=(
                    f"fields of group '{f.group}' must be listed one after another")))
            previous_group = f.group
    return errors


def _field_rules(f: TemplateField, rubric: RubricLookup) -> Iterable[tuple[str, str]]:
    """(attribute, message) for each rule one field definition breaks."""
    if f.type == "enum":
        if not f.options:
            yield "options", "an enum field needs at least one option"
        elif any(repeats(f.options)):
            yield "options", "options must be unique"
    elif f.options is not None:
        yield "options", "only enum fields have options"

    if f.type == "integer":
        if f.min is not None and f.max is not None and f.min > f.max:
            yield "max", f"must not be below min ({f.min})"
    else:
        for bound in ("min", "max"):
            if getattr(f, bound) is not None:
                yield bound, "only integer fields have min and max"

    if f.max_length is not None and f.type not in DEFAULT_MAX_LENGTH:
        yield "max_length", "only text, markdown and list fields have max_length"
    if f.multiple and f.type not in MULTIPLE_TYPES:
        yield "multiple", f"only {', '.join(sorted(MULTIPLE_TYPES))} fields can be multiple"
    if f.max_items is not None and not (f.type == "list" or f.multiple):
        yield "max_items", "only list fields and multiple fields have max_items"

    if f.type in RUBRIC_TYPES:
        if f.rubric is None:
            yield "rubric", f"a {f.type} field must name its rubric"
        elif rubric(f.rubric) is None:
            yield "rubric", f"rubric '{f.rubric}' has no published version"
    elif f.rubric is not None:
        yield "rubric", "only competency and level fields name a rubric"


# --- outline values --------------------------------------------------------------------------

@dataclass
class ValueCheck:
    """The outcome of checking values: the cleaned values, every error, and the person ids the
    values name (to be checked for existence by the caller, in one batch with other ids)."""

    values: dict[str, Any]
    errors: list[FieldError]
    people: list[tuple[str, str]]  # (path, external id)


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_empty(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def check_values(fields: list[TemplateField], values: dict[str, Any], rubric: RubricLookup,
                 prefix: str = "values") -> ValueCheck:
    """Check ``values`` against ``fields``: unknown keys, missing required values, types,
    enum options, bounds and rubric references. Empty optional values are dropped."""
    result = ValueCheck(values={}, errors=[], people=[])
    known = {f.key for f in fields}
    for f in fields:
        path, value = f"{prefix}.{f.key}", values.get(f.key)
        if is_empty(value):
            if f.required:
                result.errors.append(FieldError(field=path, message="is required"))
            continue
        checked = _check_field(f, path, value, rubric, result)
        if checked is not None:
            result.values[f.key] = checked
    result.errors.extend(
        FieldError(field=f"{prefix}.{key[:100]}", message="is not a field of this template")
        for key in values if key not in known)
    return result


def _check_field(f: TemplateField, path: str, value: Any, rubric: RubricLookup,
                 result: ValueCheck) -> Any | None:
    """The cleaned value, or None after recording the field's errors."""
    if f.type == "list" or f.multiple:
        return _check_items(f, path, value, rubric, result)
    try:
        return _check_one(f, path, value, rubric, result)
    except _Invalid as exc:
        result.errors.append(FieldError(field=path, message=exc.message))
        return None


def _check_items(f: TemplateField, path: str, value: Any, rubric: RubricLookup,
                 result: ValueCheck) -> list[Any] | None:
    if not isinstance(value, list):
        result.errors.append(FieldError(field=path, message="must be a list"))
        return None
    most = f.max_items or DEFAULT_MAX_ITEMS
    if len(value) > most:
        result.errors.append(FieldError(field=path, message=f"must have at most {most} items"))
        return None
    items, failed = [], False
    for i, item in enumerate(value):
        try:
            checked = (_check_text(f, item) if f.type == "list"
                       else _check_one(f, f"{path}[{i}]", item, rubric, result))
        except _Invalid as exc:
            result.errors.append(FieldError(field=f"{path}[{i}]", message=exc.message))
            failed = True
            continue
        if f.type == "list" or checked not in items:  # a reference named twice counts once
            items.append(checked)
    return None if failed else items


def _check_one(f: TemplateField, path: str, value: Any, rubric: RubricLookup,
               result: ValueCheck) -> Any:
    match f.type:
        case "text" | "markdown":
            return _check_text(f, value)
        case "enum":
            options = f.options or []
            if not isinstance(value, str) or value not in options:
                raise _Invalid(f"must be one of: {', '.join(options)}")
            return value
        case "date":
            return _check_date(value)
        case "integer":
            return _check_integer(f, value)
        case "competency" | "level":
            return _check_reference(f, value, rubric)
        case "person":
            if not isinstance(value, str) or not 1 <= len(value) <= 200:
                raise _Invalid("must be a person's external id (1-200 characters)")
            result.people.append((path, value))
            return value
    raise _Invalid(f"unsupported field type '{f.type}'")  # unreachable: the schema forbids it


def _check_text(f: TemplateField, value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be text")
    if not value.strip():
        raise _Invalid("must not be blank")
    limit = min(f.max_length or DEFAULT_MAX_LENGTH[f.type], TEXT_LIMIT)
    if len(value) > limit:
        raise _Invalid(f"must be at most {limit} characters")
    return value


def _check_date(value: Any) -> str:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise _Invalid("must be a date as YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise _Invalid("must be a real calendar date (YYYY-MM-DD)") from exc
    return value


def _check_integer(f: TemplateField, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid("must be a whole number")
    if f.min is not None and value < f.min:
        raise _Invalid(f"must be at least {f.min}")
    if f.max is not None and value > f.max:
        raise _Invalid(f"must be at most {f.max}")
    return value


def _check_reference(f: TemplateField, value: Any, rubric: RubricLookup) -> str:
    kind = "competency" if f.type == "competency" else "level"
    if not isinstance(value, str):
        raise _Invalid(f"must be a {kind} key")
    view = rubric(f.rubric or "")
    if view is None:
        raise _Invalid(f"rubric '{f.rubric}' has no published version to check against")
    known = view.competency_set if kind == "competency" else view.level_set
    if value not in known:
        raise _Invalid(f"unknown {kind} '{value[:100]}' in rubric '{view.key}' "
                       f"version {view.version}")
    return value
