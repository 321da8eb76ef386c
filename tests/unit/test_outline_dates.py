"""target_date of outlines drafted from gaps: the end of the cycle after the assessed one."""

from datetime import date

import pytest

from service.outlines.opportunities import target_date

TODAY = date(2026, 8, 31)


@pytest.mark.parametrize(("cycle", "expected"), [
    ("2026-H2", date(2027, 6, 30)),
    ("2026-H1", date(2026, 12, 31)),
    ("2026-Q3", date(2026, 12, 31)),
    ("2026-Q4", date(2027, 3, 31)),
    ("2026 q3", date(2026, 12, 31)),     # any case, any separator
    ("2026", date(2027, 12, 31)),
    ("2026-H3", date(2027, 2, 28)),       # not a half: six months ahead, clamped to February
    ("spring review", date(2027, 2, 28)),
    ("2019-H1", date(2027, 2, 28)),       # its next cycle ended long ago
])
def test_target_date_from_cycle_label(cycle, expected):
    assert target_date(cycle, TODAY) == expected
