"""CSV cells that a spreadsheet shows as text, never runs (OWASP "CSV injection"): the one
rule for every CSV this API writes and for the bulk CSV import that reads them back.

Excel, LibreOffice and Google Sheets treat a cell starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return as a formula (``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``).
Written, such a text cell gets a leading ``'``, which spreadsheets take as "text" and hide.
So that reading can undo exactly what writing did, a text that already starts with quotes
followed by one of those characters (``'=x``) gets one more quote too (``''=x``); reading
drops one leading quote from any cell whose first character after its leading quotes is one
of them. ``read_cell(write_cell(text)) == text`` for every text: the round trip is exact.
Numbers (``int``/``float`` values) are written as they are.
"""

import csv
from collections.abc import Iterable
from typing import IO, Any

TRIGGERS = frozenset("=+-@\t\r")


def _formula_like(text: str) -> bool:
    return text.lstrip("'")[:1] in TRIGGERS  # "" is not in the set


def write_cell(value: Any) -> Any:
    """A cell value as written: text that a spreadsheet would run gets a leading ``'``."""
    return "'" + value if isinstance(value, str) and _formula_like(value) else value


def read_cell(text: str) -> str:
    """A cell as read by the import: undoes ``write_cell``."""
    return text[1:] if text[:1] == "'" and _formula_like(text) else text


class Writer:
    """``csv.writer`` whose every text cell goes through ``write_cell``."""

    def __init__(self, out: IO[str], **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([write_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
