"""Red team, the test command as a newcomer meets it (issue 22): apt busy on a fresh machine,
collection that touched the kernel and the network, a quick subset that changed nr_hugepages,
skips that read as passes in CI, documented commands that fail on Debian.

Nothing here touches the kernel's pool, apt or the network: the apt lock is a file of our own,
the collection runs with every pool write, image fetch and connection refused.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from bounded import REPO

VENV_SH = REPO / "scripts" / "venv.sh"
#: the pytest runs below need no plugin of the environment's (nbval, hypothesis's, playwright's):
#: without them pytest starts in a second, not in ten under load
PYTEST_ENV = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


# -- apt's lock: wait for it (bounded, saying so), or say in one line what to do ------------
def hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    """A process holding an fcntl lock on ``path`` (as dpkg holds its lock) for ``seconds``."""
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import fcntl, sys, time
        f = open({str(path)!r}, "w")
        fcntl.lockf(f, fcntl.LOCK_EX)
        print("held", flush=True)
        sys.stdin.readline() if {seconds} < 0 else time.sleep({seconds})
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


def apt_wait(lock: Path, wait: int) -> subprocess.CompletedProcess:
    script = f'source {VENV_SH}; HUGELAB_APT_LOCKS={lock} HUGELAB_APT_WAIT={wait} hugelab_apt_wait'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)


def test_a_busy_apt_is_waited_for_saying_who_holds_it(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.touch()
    holder = hold_lock(lock, 2)
    try:
        done = apt_wait(lock, 60)
    finally:
        holder.wait()
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") == 1
    busy = rf"hugelab: apt is busy \(pid {holder.pid} \(python3?[^)]*\) holds {lock}; .*: waiting up to 60 s\n"
    assert re.fullmatch(busy, done.stderr), done.stderr


def test_apt_busy_past_the_bound_says_in_one_line_what_to_do(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.touch()
    holder = hold_lock(lock, -1)
    try:
        done = apt_wait(lock, 1)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1
    last = done.stderr.splitlines()[-1]
    assert last.startswith("hugelab: apt is still busy after 1 s (pid ") and "then run this again" in last


def test_a_free_lock_is_no_wait_and_no_word(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.touch()
    done = apt_wait(lock, 60)
    assert done.returncode == 0 and done.stderr == ""


def test_every_apt_get_in_the_scripts_waits_for_the_lock():
    for script in ("test.sh", "venv.sh", "notebooks.sh", "site.sh"):
        text = (REPO / "scripts" / script).read_text()
        calls = [line for line in text.splitlines() if not line.lstrip().startswith(("#", "echo "))
                 and re.search(r"\bapt-get\s+((-\S+|DPkg\S+|\S+=\S+)\s+)*(update|install|upgrade|download)\b", line)]
        assert all("-o DPkg::Lock::Timeout" in line for line in calls), (script, calls)  # hugelab_apt_get's own
    assert 'apt-get -o DPkg::Lock::Timeout="${HUGELAB_APT_WAIT:-600}"' in (REPO / "scripts" / "venv.sh").read_text()


# -- collection touches neither the kernel nor the network ---------------------------------
GUARD = """
import socket
import hugelab.realkernel.images as images
import hugelab.realkernel.sysfs as sysfs

CALLS = []

def refuse(name):
    def refused(*args, **kwargs):
        CALLS.append(name)
        raise RuntimeError(f"{name} during collection")
    return refused

sysfs.write_sysctl = refuse("write_sysctl")
images.resolve = refuse("images.resolve")
images.fetch = refuse("images.fetch")
socket.socket.connect = refuse("socket.connect")

def pytest_collection_finish(session):
    print(f"collection calls: {CALLS}")
"""


def test_collecting_the_kernel_and_guest_tests_writes_no_sysctl_and_fetches_nothing(tmp_path):
    (tmp_path / "collection_guard.py").write_text(GUARD)
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "collection_guard",
                           "-p", "no:cacheprovider", "tests/test_kernel.py", "tests/test_guests.py",
                           "tests/test_export_c.py"],
                          capture_output=True, text=True, timeout=300, cwd=REPO,
                          env=PYTEST_ENV | {"PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "collection calls: []" in done.stdout
    collected = int(re.search(r"(\d+) tests? collected", done.stdout).group(1))
    assert collected > 60


# -- the quick subset: defined once, documented, never the kernel ----------------------------
LIST_MARKERS = """
def pytest_collection_finish(session):
    for item in session.items:
        print("MARKS", ",".join(sorted({m.name for m in item.iter_markers()})))
"""


def test_the_quick_subset_selects_no_kernel_guest_browser_or_install_test(tmp_path):
    (tmp_path / "list_markers.py").write_text(LIST_MARKERS)
    # a file of each kind: kernel (and cc), guest, browser, slow, and plain ones
    files = ["tests/test_kernel.py", "tests/test_export_c.py", "tests/test_guests.py", "tests/browser/test_site.py",
             "tests/browser/test_install.py", "tests/test_lab.py", "tests/test_cli.py", "tests/test_trace.py"]
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "--quick", "-p", "list_markers",
                           "-p", "no:cacheprovider", *files],
                          capture_output=True, text=True, timeout=300, cwd=REPO,
                          env=PYTEST_ENV | {"PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    marks = [set(filter(None, line[6:].split(","))) for line in done.stdout.splitlines() if line.startswith("MARKS ")]
    assert len(marks) > 30 and not [m for m in marks if m & {"kernel", "guest", "browser", "server", "slow"}]
    assert "deselected" in done.stdout  # the kernel, guest, browser and install tests were there to leave out


def test_the_readme_and_tests_readme_give_the_quick_subset():
    for doc in ("README.md", "tests/README.md"):
        assert "bash scripts/test.sh --quick" in (REPO / doc).read_text(), doc
    assert "-m \"not slow\"" not in (REPO / "README.md").read_text()


# -- in CI a skip of a test this machine can run is a failure ------------------------------
CI_CASE = """
import pytest

@pytest.mark.kernel
def test_busy_pool():
    pytest.skip("huge pages are in use or reserved by someone else")

@pytest.mark.guest
def test_no_image():
    pytest.skip("no Linux 6.12 cloud-amd64 kernel is cached or offered")

@pytest.mark.kernel
def test_another_kernel():
    from skips import expected
    expected("this is not Linux 6.18")

def test_plain_skip():
    pytest.skip("no C compiler")
"""


def run_ci_case(tmp_path: Path, ci: str) -> str:
    case = tmp_path / "tests" / "test_ci_case.py"
    case.parent.mkdir(exist_ok=True)
    case.write_text(CI_CASE)
    (case.parent / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    for helper in ("skips.py", "summary_lines.py"):
        (case.parent / helper).write_text((REPO / "tests" / helper).read_text())
    markers = "".join(f"    {m}: {m}\n" for m in ("kernel", "guest", "browser", "server", "slow"))
    (tmp_path / "pytest.ini").write_text(f"[pytest]\nmarkers =\n{markers}")
    done = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", str(case.parent)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=PYTEST_ENV | {"CI": ci})
    return done.stdout


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/proc/sys/vm/nr_hugepages").exists(),
                    reason="the rule applies where the machine can run kernel tests: root with hugetlb")
def test_in_ci_a_kernel_or_guest_skip_fails_with_its_reason(tmp_path):
    out = run_ci_case(tmp_path, "true")
    assert re.search(r"FAILED .*test_busy_pool - kernel test skipped in CI on a machine that can run it "
                     r"\(CI=true\): huge pages are in use", out), out
    from shutil import which
    guest = "FAILED" if which("qemu-system-x86_64") and which("busybox") else "SKIPPED"
    assert re.search(rf"{guest} .*test_no_image", out), out
    assert re.search(r"SKIPPED .*expected here: this is not Linux 6\.18", out), out
    assert re.search(r"SKIPPED .*no C compiler", out), out
    out = run_ci_case(tmp_path, "")  # outside CI a skip stays a skip
    assert "FAILED" not in out and out.count("SKIPPED") == 4, out


# -- documented commands work on Debian (python3 only, no `build` outside a venv) ------------
def shell_lines(text: str) -> list[str]:
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, flags=re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]


def test_no_document_runs_a_bare_python_or_a_build_outside_a_venv():
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "tests" / "README.md"]
    bad = [(doc.name, line) for doc in docs for line in shell_lines(doc.read_text(encoding="utf-8"))
           if re.match(r"(sudo )?python(\s|$)", line) or re.match(r"(sudo )?python3 -m (build|pip)\b", line)]
    assert bad == []


def test_the_site_extra_is_what_site_sh_installs_and_is_small():
    assert "hugelab_venv site" in (REPO / "scripts" / "site.sh").read_text()
    line = re.search(r"^site = \[(.*)\]$", (REPO / "pyproject.toml").read_text(), flags=re.M).group(1)
    names = {re.split(r"[<>=\[ ]", r.strip().strip('"'))[0] for r in line.split(",")}
    assert names == {"nbconvert", "bqplot"}  # not JupyterLab, Playwright, mypy, Voila... (139 s of pip)
