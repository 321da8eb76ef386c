"""Streaming parsers: a spooled JSONL or CSV file in, one ``Item`` (an assessment as the file
asks for it) at a time out. Memory stays flat whatever the file size: lines are read one at a
time (each at most ``max_line`` bytes), a CSV holds one assessment's rows at a time, and the
only state that grows is a set of (person, cycle) hashes to catch an assessment given twice.

Errors found here (bad JSON, a bad CSV cell, a field out of range) are attached to the item
with their line and field; the runner reports them without planning the item.
"""

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import IO, Any

from pydantic import TypeAdapter, ValidationError

from ..assessments.schemas import RubricRef
from ..csv_cells import read_cell
from ..problems import field_path
from ..wire import NUL, NUL_MESSAGE, ExternalId, Key, nul_paths
from .schemas import (
    CSV_ASSESSMENT,
    CSV_COLUMNS,
    CSV_PERSON,
    CSV_RATING,
    CSV_REQUIRED,
    BulkLine,
    BulkRating,
    CsvAssessment,
)

BOM = b"\xef\xbb\xbf"
_LINE = TypeAdapter(BulkLine)
_RATINGS = TypeAdapter(list[BulkRating])
_EXTERNAL_ID = TypeAdapter(ExternalId)
_KEY = TypeAdapter(Key)
_RUBRIC_REF = TypeAdapter(RubricRef)
_BOOL = TypeAdapter(bool)
_QUOTED_CELL = re.compile(r"(?:^|,)\"?'")  # a cell (quoted or not) that starts with '
_CSV_FIELD = {**{v: k for k, v in CSV_PERSON.items()}, "rubric.key": "rubric",
              "rubric.version": "rubric_version", "person": "external_id"}

Error = tuple[int, str, str]  # (line, field, message)


class FileError(Exception):
    """The file as a whole cannot be read (e.g. a CSV header without ``external_id``)."""

    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(message)
        self.line, self.field, self.message = line, field, message


@dataclass
class Item:
    """One assessment as the file gives it. ``person`` holds the person fields given (None
    when the file only names a synced person); ``status`` is None for the request default."""

    format: str
    line: int
    end: int = 0  # byte offset just after the item
    external_id: str | None = None
    cycle: str | None = None
    person: dict[str, Any] | None = None
    rubric_key: str | None = None
    rubric_version: int | None = None
    target_level: str | None = None
    status: str | None = None
    ratings: list[BulkRating] = field(default_factory=list)
    rating_lines: list[int] = field(default_factory=list)
    rows: int = 1
    errors: list[Error] = field(default_factory=list)

    def where(self, path: str) -> tuple[int, str]:
        """(line, field) in the file of a field path of the JSON line shape."""
        if self.format == "ndjson":
            return self.line, path
        if path.startswith("ratings["):
            index, _, rest = path[8:].partition("]")
            line = self.rating_lines[int(index)] if int(index) < len(self.rating_lines) \
                else self.line
            return line, rest.lstrip(".")
        if path == "ratings":
            return self.line, ""
        path = path.removeprefix("person.")
        return self.line, _CSV_FIELD.get(path, path)

    def error(self, path: str, message: str) -> None:
        self.errors.append((*self.where(path), message))


def _validation_errors(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    return [(prefix + field_path(e["loc"]) if e["loc"] else prefix.rstrip("."), e["msg"])
            for e in exc.errors()]


def _lines(f: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, bytes or None when longer than ``limit``, offset after the line)."""
    number = offset = 0
    while raw := f.readline(limit + 1):
        number += 1
        offset += len(raw)
        if len(raw) > limit and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the overlong line
                raw = f.readline(1 << 16)
                offset += len(raw)
            yield number, None, offset
            continue
        yield number, raw, offset


class _Duplicates:
    """Remembers where each (person, cycle) was first seen. Hashes, not strings: 100,000
    assessments cost a few MB; a collision (odds ~1e-9 at that size) would report a false
    duplicate, never miss a true one."""

    def __init__(self) -> None:
        self.first: dict[int, int] = {}

    def check(self, item: Item) -> int | None:
        key = hash((item.external_id, item.cycle))
        first = self.first.setdefault(key, item.line)
        return None if first == item.line else first


# --- JSON lines --------------------------------------------------------------------------------

def ndjson_items(f: IO[bytes], max_line: int) -> Iterator[Item]:
    seen = _Duplicates()
    for number, raw, offset in _lines(f, max_line):
        if raw is not None and not raw.strip():
            continue
        item = Item("ndjson", number, offset)
        if raw is None:
            item.error("", f"the line is longer than {max_line} bytes")
        else:
            _parse_line(item, raw.removeprefix(BOM) if number == 1 else raw)
        if item.external_id and item.cycle and (first := seen.check(item)):
            item.error("cycle", f"'{item.external_id}' in cycle '{item.cycle}' is already on "
                                f"line {first}; give each assessment once")
        yield item


def _parse_line(item: Item, raw: bytes) -> None:
    try:
        doc = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        item.error("", f"not valid JSON: {exc}")
        return
    except RecursionError:
        item.error("", "not valid JSON: nested too deeply")
        return
    if not isinstance(doc, dict):
        item.error("", "each line must be a JSON object")
        return
    _context(item, doc)
    if b"\\u0000" in raw and (paths := nul_paths(doc)):
        for path in paths:
            item.error(path, NUL_MESSAGE)
        return
    try:
        line = _LINE.validate_python(doc)
    except ValidationError as exc:
        for path, message in _validation_errors(exc):
            item.error(path, message)
        return
    item.cycle, item.ratings, item.target_level = line.cycle, line.ratings, line.target_level
    item.status = _status(line.status, line.submit, line.finalize, item)
    _person(item, line.person)
    _rubric(item, line.rubric)


def _context(item: Item, doc: dict[str, Any]) -> None:
    """Who and which cycle, as far as a line that may be invalid says (for its errors)."""
    person = doc.get("person")
    external_id = person.get("external_id") if isinstance(person, dict) else person
    if isinstance(external_id, str):
        item.external_id = external_id[:200]
    if isinstance(doc.get("cycle"), str):
        item.cycle = doc["cycle"][:64]


def _status(status: str | None, submit: bool | None, finalize: bool | None, item: Item
            ) -> str | None:
    asked = "finalized" if finalize else "submitted" if submit else \
        "draft" if (submit is False or finalize is False) else None
    if status is not None and asked is not None and asked != status:
        item.error("status", f"'{status}' contradicts submit/finalize on the same line")
    return status or asked


def _person(item: Item, value: Any) -> None:
    if isinstance(value, str):
        external_id, item.person = value, None
        path = "person"
    elif isinstance(value, dict):
        external_id = value.get("external_id")
        item.person = {k: v for k, v in value.items() if k != "external_id"}
        path = "person.external_id"
    else:
        item.error("person", "give the person's external id or a person object")
        return
    try:
        item.external_id = _EXTERNAL_ID.validate_python(external_id)
    except ValidationError as exc:
        item.error(path, exc.errors()[0]["msg"] if external_id is not None else "required")


def _rubric(item: Item, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str):
        try:
            item.rubric_key = _KEY.validate_python(value)
        except ValidationError as exc:
            item.error("rubric", exc.errors()[0]["msg"])
        return
    try:
        ref = _RUBRIC_REF.validate_python(value)
    except ValidationError as exc:
        for path, message in _validation_errors(exc, "rubric."):
            item.error(path, message)
        return
    item.rubric_key, item.rubric_version = ref.key, ref.version


# --- CSV ---------------------------------------------------------------------------------------

class _Source:
    """Decoded lines for ``csv.reader``, one at a time, noting lines that are too long or not
    UTF-8 (they reach the reader as blank lines) and the byte offset reached. ``nul`` and
    ``quote`` say whether the lines read since they were last reset hold a NUL or a cell
    starting with ``'`` (tested on the whole line: a row with neither costs nothing per
    cell)."""

    def __init__(self, f: IO[bytes], limit: int) -> None:
        self._lines, self.limit = _lines(f, limit), limit
        self.bad: dict[int, str] = {}
        self.offset = 0
        self.nul = self.quote = False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        number, raw, self.offset = next(self._lines)
        if raw is None:
            self.bad[number] = f"the line is longer than {self.limit} bytes"
            return "\n"
        try:
            text = (raw.removeprefix(BOM) if number == 1 else raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            self.bad[number] = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
            return "\n"
        if NUL in text:
            self.nul = True
        if "'" in text and _QUOTED_CELL.search(text):
            self.quote = True
        return text


def _header(columns: list[str]) -> dict[str, int]:
    names = [c.strip() for c in columns]
    unknown = [c for c in names if c not in CSV_COLUMNS]
    if unknown:
        raise FileError(1, unknown[0], f"unknown column(s) {', '.join(unknown)}; the columns "
                                       f"are {', '.join(CSV_COLUMNS)}")
    if len(set(names)) != len(names):
        raise FileError(1, "", "a column is named twice")
    missing = [c for c in CSV_REQUIRED if c not in names]
    rating = [c for c in ("competency", "rater_role", "proficiency") if c in names]
    if rating and len(rating) < 3:
        missing += [c for c in ("competency", "rater_role", "proficiency") if c not in names]
    if missing:
        raise FileError(1, missing[0], f"missing column(s): {', '.join(missing)}")
    return {name: i for i, name in enumerate(names)}


class _Columns:
    """Where each kind of column sits in a row of this file (itemgetters: C speed)."""

    def __init__(self, index: dict[str, int]) -> None:
        self.width = len(index)
        self.key = itemgetter(index["external_id"], index["cycle"])
        # external_id and cycle are always there, so these getters always return tuples.
        self.head_names = [c for c in CSV_COLUMNS if c in index and c not in CSV_RATING]
        self.head = itemgetter(*[index[c] for c in self.head_names])
        self.rating_names = [c for c in CSV_RATING if c in index]
        self.rating = itemgetter(*[index[c] for c in self.rating_names]) \
            if len(self.rating_names) >= 3 else (lambda row: ())


class _Group:
    """The rows of one assessment, as they are read."""

    def __init__(self, columns: _Columns, row: list[str], line: int) -> None:
        self.columns, self.line = columns, line
        self.key = columns.key(row)
        self.head = columns.head(row)
        self.item = Item("csv", line, external_id=self.key[0] or None, cycle=self.key[1] or None,
                         rows=0)
        self.ratings: list[tuple[str, ...]] = []
        self.add(row, line)

    def add(self, row: list[str], line: int) -> None:
        item = self.item
        item.rows += 1
        if item.rows > 1 and (head := self.columns.head(row)) != self.head:
            name, value = next((n, v) for n, v, w in zip(self.columns.head_names, head,
                                                         self.head, strict=True) if v != w)
            item.errors.append((line, name, f"differs from line {self.line} of the same "
                                            f"assessment ('{value}')"))
        rating = self.columns.rating(row)
        if any(rating):  # all empty: a row naming the assessment only
            self.ratings.append(rating)
            item.rating_lines.append(line)

    def done(self, end: int) -> Item:
        item, columns = self.item, self.columns
        item.end = end
        values = dict(zip(columns.head_names, self.head, strict=True))
        try:  # CSV cells are text: converted (strict=False), unlike JSON values
            pins = CsvAssessment.model_validate(
                {k: values.get(k) or None for k in ("external_id", "cycle", *CSV_ASSESSMENT)
                 if k in values}, strict=False)
            item.rubric_key, item.rubric_version = pins.rubric, pins.rubric_version
            item.target_level, item.status = pins.target_level, pins.status
        except ValidationError as exc:
            for path, message in _validation_errors(exc):
                item.errors.append((self.line, path, message))
        item.person = {CSV_PERSON[k]: (v if v != "" else None) for k, v in values.items()
                       if k in CSV_PERSON and not (v == "" and k in ("display_name", "active"))}
        if "active" in item.person:
            try:
                item.person["active"] = _BOOL.validate_python(item.person["active"], strict=False)
            except ValidationError as exc:
                item.errors.append((self.line, "active", exc.errors()[0]["msg"]))
        names = columns.rating_names
        try:  # empty cells are absent values (rater_id of a self rating, no evidence)
            item.ratings = _RATINGS.validate_python(
                [{n: v for n, v in zip(names, r, strict=True) if v != ""} for r in self.ratings],
                strict=False)
        except ValidationError as exc:
            for e in exc.errors():
                index, *rest = e["loc"]
                item.errors.append((item.rating_lines[index], field_path(rest), e["msg"]))
        item.errors.sort(key=lambda e: e[0])
        return item


def csv_items(f: IO[bytes], max_line: int) -> Iterator[Item]:
    source = _Source(f, max_line)
    reader = csv.reader(source, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise FileError(1, "", "the file is empty") from None
    except csv.Error as exc:
        raise FileError(1, "", f"the header is not valid CSV: {exc}") from exc
    if 1 in source.bad:
        raise FileError(1, "", source.bad[1])
    if source.nul:
        raise FileError(1, "", f"the header {NUL_MESSAGE}")
    source.nul = source.quote = False
    names = [c.strip() for c in header]
    columns = _Columns(_header(header))
    width, key_of = columns.width, columns.key
    seen, group, last = _Duplicates(), None, 1
    broken: list[Item] = []  # unreadable rows, reported after the assessment around them
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            broken.append(Item("csv", last + 1, source.offset,
                               errors=[(last + 1, "", f"not valid CSV: {exc}")]))
            last = reader.line_num
            continue
        line, last = last + 1, reader.line_num
        nul_errors = None
        if source.quote or source.nul:
            if source.quote:  # undo what the export did to formula-like cells (csv_cells)
                row = [read_cell(cell) for cell in row]
            if source.nul:
                nul_errors = [(line, names[i] if i < len(names) else "", NUL_MESSAGE)
                              for i, cell in enumerate(row) if NUL in cell]
            source.nul = source.quote = False
        if source.bad and (bad := next((source.bad[n] for n in range(line, last + 1)
                                        if n in source.bad), None)):
            broken.append(Item("csv", line, source.offset, errors=[(line, "", bad)]))
            continue
        if len(row) != width:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            broken.append(Item("csv", line, source.offset, errors=[(line, "", (
                f"has {len(row)} fields; the header has {width}"))]))
            continue
        if group is not None:
            if key_of(row) == group.key:
                group.add(row, line)
                if nul_errors:
                    group.item.errors += nul_errors
                continue
            yield _finish(group, seen, source.offset)
        yield from broken
        broken.clear()
        group = _Group(columns, row, line)
        if nul_errors:
            group.item.errors += nul_errors
    if group is not None:
        yield _finish(group, seen, source.offset)
    yield from broken


def _finish(group: _Group, seen: _Duplicates, end: int) -> Item:
    item = group.done(end)
    if item.external_id and item.cycle and (first := seen.check(item)):
        item.errors.append((item.line, "external_id", (
            f"'{item.external_id}' in cycle '{item.cycle}' already has rows from line {first}; "
            "the rows of one assessment must be together")))
    return item


def items(fmt: str, f: IO[bytes], max_line: int) -> Iterator[Item]:
    return ndjson_items(f, max_line) if fmt == "ndjson" else csv_items(f, max_line)


def count_items(fmt: str, f: IO[bytes]) -> int | None:
    """Assessments in a JSONL file (its non-blank lines; cheap). A CSV is counted as it is
    read: counting its groups up front would cost a second parse."""
    if fmt != "ndjson":
        return None
    return sum(1 for raw in f if raw.strip())
