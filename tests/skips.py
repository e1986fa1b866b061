"""Skips that are the right outcome on this machine, as opposed to skips that hide a test.

In CI (CI=true) a ``kernel`` or ``guest`` test that skips on a machine able to run it fails
(tests/conftest.py); a test that skips because the machine is not the one it is about (a test
of Linux 6.18 on another kernel) says so with :func:`expected`, and stays a skip.
"""

import pytest

EXPECTED = "expected here: "


def expected(reason: str) -> None:
    """Skip, as the right outcome on this machine (never turned into a failure in CI)."""
    pytest.skip(EXPECTED + reason)
