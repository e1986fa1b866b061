"""The behaviours x kernels matrix: shipped real-kernel records, each kernel's policy, provenance."""

import pytest

from hugelab import replay
from hugelab.tools.matrix import BEHAVIOURS, COLUMNS, matrix, provenance, recorded, recorded_steps

REAL = [series for _, _, series in COLUMNS if series]


@pytest.mark.parametrize("series", REAL)
def test_every_shipped_record_is_reproduced_step_for_step_by_that_kernels_policy(series):
    for b in BEHAVIOURS:
        assert recorded_steps(series, b.key) == replay(b.trace, f"linux-{series}"), (series, b.key)


@pytest.mark.parametrize("series", REAL)
def test_records_say_where_they_come_from(series):
    data = recorded(series)
    assert data["kernel"].startswith(series + ".")
    assert data["date"][:2] == "20" and data["how"]
    assert set(data["records"]) == {b.key for b in BEHAVIOURS}


def test_the_matrix_shows_the_6_12_and_6_18_difference_and_no_unexplained_cell():
    rows = {r[0]: r[1:] for r in matrix()[1:]}
    heading = matrix()[0][1:]
    fork = dict(zip(heading, rows["fork-unmap"]))
    assert fork["6.12"] == "0" and fork["6.18"].startswith("18446744073709551615")
    assert dict(zip(heading, rows["dontneed"]))["6.1"] == "1"
    assert not any(cell.endswith("!") for cells in rows.values() for cell in cells)
    assert len(provenance()) == len(REAL)
