"""Red team, ``hugelab lab``: root's course folder, planted by another user, and the served JupyterLab.

The attacks of issue 22: ``nobody`` plants links where root's ``hugelab lab DIR`` writes (its log,
its temporary copies), reads the token off a command line to open a root terminal, or places a
notebook that differs from the course's only in metadata to have it signed as trusted. Needs
JupyterLab; the other user's part needs root (to switch to ``nobody``).
"""

import inspect
import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from bounded import NOBODY, REPO, as_user, can_switch_user

pytest.importorskip("jupyterlab")

from hugelab.app import descendants
from hugelab.teaching import lab

needs_root = pytest.mark.skipif(can_switch_user() is not None, reason=f"{can_switch_user()}")
ROOT = os.geteuid() == 0
#: JupyterLab starts in about 10 s here; at load 8 on 2 cores it took 60
START_SECONDS = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """``hugelab lab DIR ...`` in the background, until it prints its URL or ends."""

    def __init__(self, directory: Path, *extra: str, env: dict | None = None) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "hugelab", "lab", str(directory), "--port", str(self.port), "--no-browser",
                   *extra]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(env or os.environ, PYTHONPATH=str(REPO)), cwd="/",
                                     start_new_session=True)
        self.url = None
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # ends at the URL, or when the command ends
            if line.startswith("hugelab course: "):
                self.url = line.split()[-1]
                break
        self.stderr = "" if self.url else self.proc.stderr.read()

    @property
    def token(self) -> str:
        assert self.url
        return self.url.split("token=")[1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(60)


def root_only(folder: Path, name: str) -> Path:
    """A file only root may read or write, in a folder only root may enter."""
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / name
    target.write_text(f"root's {name}\n")
    target.chmod(0o600)
    return target


@pytest.fixture
def shared():
    """A folder like /tmp: every user may add entries, only an entry's owner may remove it."""
    folder = Path(tempfile.mkdtemp(prefix="hugelab-redteam-", dir="/tmp"))
    folder.chmod(0o1777)
    yield folder
    subprocess.run(["rm", "-rf", str(folder)], check=False)


def root_flag() -> list[str]:
    """--allow-root for root (an older hugelab, which added it itself, did not know the flag)."""
    return ["--allow-root"] if ROOT and "allow_root" in inspect.signature(lab.run).parameters else []


@needs_root
def test_links_nobody_planted_in_the_course_folder_are_never_followed(tmp_path, shared):
    """The issue's attack, as it was done: nobody's links at the log and at a temporary copy."""
    secret, other = root_only(tmp_path / "root", "secret"), root_only(tmp_path / "root", "other")
    plant = (f"mkdir -p c/.hugelab && ln -s {secret} c/.hugelab/jupyterlab.log && "
             f"ln -s {other} c/00-start-here.ipynb.hugelab-tmp")
    done = subprocess.run(as_user(NOBODY, ["sh", "-c", plant]), cwd=shared, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run = Lab(shared / "c", *root_flag())
    try:
        assert secret.read_text() == "root's secret\n" and other.read_text() == "root's other\n"
        assert run.url is None, "root's hugelab lab served a folder nobody controls"
        assert run.proc.wait(60) == 2
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
        assert f"{shared / 'c'} belongs to uid {NOBODY}" in run.stderr
    finally:
        run.stop()


@needs_root
@pytest.mark.parametrize("where", ["folder", "state"])
def test_a_folder_others_may_write_is_refused_even_if_it_is_roots(shared, where):
    course = shared / "c"
    course.mkdir()
    (course / ".hugelab").mkdir()
    os.chmod(course if where == "folder" else course / ".hugelab", 0o777)
    run = Lab(course, *root_flag())
    try:
        assert run.url is None and run.proc.wait(60) == 2
        assert "can be written by other users" in run.stderr and run.stderr.count("\n") == 1, run.stderr
    finally:
        run.stop()


@pytest.mark.skipif(not ROOT, reason="root's files are the ones at stake")
def test_a_link_left_at_a_course_file_is_refused_in_one_line(tmp_path):
    secret = root_only(tmp_path / "root", "secret")
    course = tmp_path / "c"
    course.mkdir()
    (course / lab.FIRST).symlink_to(secret)
    run = Lab(course, *root_flag())
    try:
        assert run.url is None and run.proc.wait(60) == 2
        assert f"{course / lab.FIRST} is a symbolic link" in run.stderr and run.stderr.count("\n") == 1, run.stderr
        assert secret.read_text() == "root's secret\n"
    finally:
        run.stop()


def test_as_root_lab_refuses_without_allow_root(tmp_path):
    if not ROOT:
        pytest.skip("only root is refused")
    run = Lab(tmp_path / "c")
    try:
        assert run.url is None, "hugelab lab started JupyterLab as root without --allow-root"
        assert run.proc.wait(60) == 2 and "--allow-root" in run.stderr and run.stderr.count("\n") == 1
        assert not (tmp_path / "c").exists()  # refused before anything was written
    finally:
        run.stop()


# -- one served course: the token, terminals, links left in its state folder, trust ----------------
def metadata_variant(course: Path) -> bytes:
    """The course's 01 notebook with other metadata: not the course's bytes, the same cells."""
    nb = json.loads((course / "01-the-pool-and-reservations.ipynb").read_text())
    nb["metadata"]["kernelspec"] = {"name": "planted", "display_name": "planted", "language": "python"}
    nb["metadata"]["language_info"] = {"name": "python", "version": "0.0.0"}
    return json.dumps(nb).encode()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A root course folder with links left in its state folder and a planted notebook, served."""
    top = tmp_path_factory.mktemp("served")
    secret = root_only(top / "root", "secret")
    course = top / "c"
    (course / ".hugelab").mkdir(parents=True)
    (course / ".hugelab" / "jupyterlab.log").symlink_to(secret)
    planted = metadata_variant(lab.course_dir())
    (course / "01-the-pool-and-reservations.ipynb").write_bytes(planted)
    data = top / "jupyter-data"  # the notary's database, this test's own
    run = Lab(course, *root_flag(), env=dict(os.environ, JUPYTER_DATA_DIR=str(data)))
    assert run.url, run.stderr[-3000:]
    yield run, course, secret, data
    run.stop()


def test_the_token_is_on_no_command_line_nor_in_any_environment(served):
    run = served[0]
    for pid in [run.proc.pid, *descendants(run.proc.pid)]:
        try:
            assert run.token.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes(), pid
            assert run.token.encode() not in Path(f"/proc/{pid}/environ").read_bytes(), pid
        except FileNotFoundError:
            pass
    base = run.url.split("/lab/")[0]
    assert urllib.request.urlopen(f"{base}/api/status?token={run.token}", timeout=60).status == 200  # it is the token


def test_terminals_are_off_unless_asked_for(served):
    run = served[0]
    base = run.url.split("/lab/")[0]
    request = urllib.request.Request(f"{base}/api/terminals?token={run.token}", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60).close()
    assert refused.value.code == 404


def test_a_link_left_at_the_log_is_replaced_not_followed(served):
    _, course, secret, _ = served
    assert secret.read_text() == "root's secret\n"
    log = course / ".hugelab" / "jupyterlab.log"
    assert not log.is_symlink() and log.is_file()


def test_only_the_courses_own_bytes_are_trusted(served):
    from nbformat import reads
    from nbformat.sign import NotebookNotary

    _, course, _, data = served
    notary = NotebookNotary(data_dir=str(data))
    first = (course / lab.FIRST).read_text()
    assert notary.check_signature(reads(first, as_version=4))  # the course's own: trusted
    planted = (course / "01-the-pool-and-reservations.ipynb").read_text()
    assert not notary.check_signature(reads(planted, as_version=4)), "a notebook with other metadata was trusted"


def test_a_notebook_swapped_after_the_copy_is_not_trusted(tmp_path, monkeypatch):
    """No window between writing a notebook and signing it: the signature is made from the bytes written."""
    from nbformat import reads
    from nbformat.sign import NotebookNotary

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    course = tmp_path / "c"
    swapped = metadata_variant(lab.course_dir())
    real_sync = lab.sync

    def sync_then_swap(source, dest):
        done = real_sync(source, dest)
        (dest / "01-the-pool-and-reservations.ipynb").write_bytes(swapped)  # as if by someone else, at once
        return done

    class Stop(Exception):
        pass

    def no_server(*args, **kwargs):
        raise Stop
    monkeypatch.setattr(lab, "sync", sync_then_swap)
    monkeypatch.setattr(lab.subprocess, "Popen", no_server)
    kwargs = {"allow_root": True} if "allow_root" in inspect.signature(lab.run).parameters else {}
    with pytest.raises(Stop):
        lab.run(str(course), free_port(), browser=False, **kwargs)
    notary = NotebookNotary(data_dir=str(tmp_path / "data"))
    assert not notary.check_signature(reads(swapped.decode(), as_version=4))
    assert notary.check_signature(reads((course / lab.FIRST).read_text(), as_version=4))


def test_lab_port_out_of_range_is_one_line_without_the_whole_number(tmp_path):
    huge = "1" * 59
    done = subprocess.run([sys.executable, "-m", "hugelab", "lab", str(tmp_path / "c"), "--port", huge],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert huge not in done.stderr and "59 digits" in done.stderr

