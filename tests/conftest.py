import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from skips import EXPECTED
from summary_lines import SUMMARY

#: what the quick subset leaves out: everything that touches the kernel's pool (kernel), boots a
#: guest, drives a browser, starts JupyterLab, Voila or `hugelab lab` (server), or makes fresh
#: clones and venvs (slow)
NOT_QUICK = ("kernel", "guest", "browser", "server", "slow")
QUICK = " and ".join(f"not {marker}" for marker in NOT_QUICK)
#: tests marked here, in one place, by what they start: whole files (relative to tests/), or one
#: test (FILE::NAME)
MARKED_HERE = {
    "server": ("redteam/test_app.py", "redteam/test_lab_root.py", "test_lab.py", "test_hub.py"),
    "browser": ("test_print.py",),  # prints with chromium
    "slow": ("test_assignments.py::test_nbgrader_end_to_end",),  # nbgrader from release to grades, ~85 s
}
HERE = Path(__file__).parent


def pytest_addoption(parser):
    parser.addoption("--quick", action="store_true",
                     help=f"the quick subset: -m '{QUICK}' (never touches the kernel; minutes)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        try:
            where = item.path.relative_to(HERE).as_posix()
        except ValueError:  # not under tests/ (nbval's notebooks)
            continue
        for marker, names in MARKED_HERE.items():
            if where in names or f"{where}::{getattr(item, 'originalname', item.name)}" in names:
                item.add_marker(getattr(pytest.mark, marker))
    if not config.getoption("--quick"):
        return
    kept = [item for item in items if not any(item.get_closest_marker(m) for m in NOT_QUICK)]
    if len(kept) < len(items):
        quick = set(kept)
        config.hook.pytest_deselected(items=[item for item in items if item not in quick])
        items[:] = kept


def pytest_terminal_summary(terminalreporter):
    for line in SUMMARY:
        terminalreporter.write_line(line)


def in_ci() -> bool:
    """CI sets CI=true (GitHub, GitLab, .ci/run); a skip there must not read as a pass."""
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


def why_this_machine_cannot(marker: str) -> str | None:
    """None if this machine is one that can run ``marker``'s tests, whatever their state now
    (a busy pool, a guest image not fetched yet): then a skip of one is a failure in CI."""
    if marker == "kernel":
        if not Path("/proc/sys/vm/nr_hugepages").exists():
            return "no hugetlb in this kernel"
        if os.geteuid() != 0:
            return "not root"
        return None
    if marker == "guest":
        missing = [tool for tool in ("qemu-system-x86_64", "busybox") if shutil.which(tool) is None]
        return f"{', '.join(missing)} missing" if missing else None
    return "not a real-kernel marker"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, a real-kernel or guest test that skips on a machine that can run it fails, with the
    skip's reason: a busy pool or a missing guest image must not turn the kernel comparison green.
    A skip the test itself calls expected here (``skips.expected``) stays a skip."""
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if reason.startswith("Skipped: "):
        reason = reason[len("Skipped: "):]
    if reason.startswith(EXPECTED):
        return
    for marker in ("kernel", "guest"):
        if item.get_closest_marker(marker) and why_this_machine_cannot(marker) is None:
            report.outcome = "failed"
            report.longrepr = (f"{marker} test skipped in CI on a machine that can run it (CI={os.environ['CI']}): "
                               f"{reason}")
            return
