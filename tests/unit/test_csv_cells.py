"""Every CSV the service writes goes through ``csv_cells`` (the OWASP CSV-injection rule): no
module writes CSV with the standard library directly, so a new export cannot forget it."""

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
WRITERS = {"writer", "DictWriter"}


def direct_csv_writers(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in WRITERS
            and isinstance(node.value, ast.Name) and node.value.id == "csv"]


def test_only_csv_cells_uses_the_standard_csv_writer():
    offenders = {str(path.relative_to(SERVICE)): lines for path in SERVICE.rglob("*.py")
                 if path.name != "csv_cells.py" and (lines := direct_csv_writers(path))}
    assert offenders == {}
    assert direct_csv_writers(SERVICE / "csv_cells.py")  # the one place that does
