"""``hugelab lab [DIR]``: copy the course into DIR and open it in JupyterLab, on loopback.

Where the course comes from: an installed wheel carries the notebooks as ``hugelab/course/``
(copied from the checkout's ``notebooks/`` when the wheel is built, see setup.py); an editable
install (a checkout, as scripts/notebooks.sh makes) reads ``notebooks/`` itself, the one source.

Copying never overwrites a learner's work: DIR keeps ``.hugelab/course.json``, the SHA-256 of
every file as hugelab last copied it, of the whole file. A file that still has that hash is
hugelab's own copy and is brought up to date; any other existing file is the learner's (edited,
run, or put there by someone else) and is kept, and the command says so. When DIR is the course
itself (a checkout's ``notebooks/``), nothing is copied.

``hugelab course DIR`` (or ``hugelab lab --copy-only DIR``) stops after the copy: no server, for a
JupyterHub's start hook, where the hub serves the folder (docs/hub.md).

``lab`` may run as root in a folder others can reach (``cd /tmp; hugelab lab``), so it writes only
in folders that are its user's and writable by no one else (DIR, ``.hugelab``), never follows a link
there (:mod:`hugelab.ownfiles`), and refuses anything else in one line. It signs as trusted only
the course's own bytes, the ones it compared or wrote, never what it reads back from DIR.

JupyterLab starts on 127.0.0.1 with a fresh token, which is on no command line (other users read
those in /proc): it goes in a file in a private folder (``JUPYTER_TOKEN_FILE``). Terminals are off
unless asked for (``--terminals``); as root it refuses unless ``--allow-root``. It opens on
``00-start-here``, with its own settings overrides (``.hugelab/lab-settings``): no "official
Jupyter news?" toast over the first notebook.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

from ..interrupts import Interrupted
from ..ownfiles import Folder, UnsafePath, check_ancestors
from .saving import SERVER_OPTION as KEEP_RECORDED_PYTHON

FIRST = "00-start-here.ipynb"
STATE = ".hugelab"  # in DIR: the copy record, the settings overrides, the workspaces, the server's log
SKIP = {".ipynb_checkpoints", "__pycache__", STATE}
RECORD = "course.json"
#: no file of the course is near this (the largest notebook is about 0.5 MB); a bigger file in DIR
#: is a learner's, compared by nobody
MAX_FILE_BYTES = 32 << 20
# JupyterLab's notification plugin: "false" answers the news question (no toast) and
# checkForUpdates off keeps an "update available" toast from covering the notebook as well.
#: JupyterLab extensions for teachers, installed with hugelab[test] or a course's nbgrader: their menu and panels are
#: hidden in a learner's lab (a fresh learner met an "Nbgrader" menu and a "Create Assignment" tab)
TEACHERS_EXTENSIONS = ("@jupyter/nbgrader",)
OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


class CourseMissing(Exception):
    """Neither a packaged course nor a checkout's notebooks/ is there."""


def course_dir() -> Path:
    """The course's folder: ``hugelab/course`` in a wheel, ``notebooks/`` in a checkout."""
    package = Path(__file__).resolve().parents[1]  # hugelab/, above this teaching/ folder
    for candidate in (package / "course", package.parent / "notebooks"):
        if (candidate / FIRST).is_file():
            return candidate
    raise CourseMissing(f"hugelab: the course is not installed (no {package / 'course' / FIRST})")


def course_files(source: Path) -> list[str]:
    """Relative POSIX paths of the course's files, sorted."""
    out = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and not SKIP.intersection(rel.parts):
            out.append(rel.as_posix())
    return out


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Synced(NamedTuple):
    """What :func:`sync` did, by file name; ``own``: the course's bytes each file in DIR now holds."""

    copied: list[str]
    updated: list[str]
    kept: list[str]
    own: dict[str, bytes]


def _folder_of(top: Folder, name: str, opened: dict[str, Folder]) -> Folder:
    """The checked folder holding the course file ``name`` (made if missing)."""
    parts = name.split("/")[:-1]
    folder = top
    for i in range(len(parts)):
        key = "/".join(parts[:i + 1])
        if key not in opened:
            opened[key] = folder.sub(parts[i], create=True)
        folder = opened[key]
    return folder


def _current(folder: Folder, base: str) -> bytes | None:
    """What DIR holds at ``base`` now: None if nothing; UnsafePath for a link or a non-file."""
    info = folder.lstat(base)
    if info is None:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePath(f"{folder.path / base} is a symbolic link: hugelab lab does not follow links in the "
                         "course's folder; remove it")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePath(f"{folder.path / base} is not a regular file; remove it")
    if info.st_size > MAX_FILE_BYTES:
        return b""  # no course file is this big: the learner's, kept
    return folder.read(base, MAX_FILE_BYTES)


def sync(source: Path, dest: Path) -> Synced:
    """Copy the course from ``source`` into ``dest`` (made if missing); UnsafePath if it cannot be safely.

    Kept: files in ``dest`` that differ from the course and are not hugelab's last copy.
    """
    copied: list[str] = []
    updated: list[str] = []
    kept: list[str] = []
    own: dict[str, bytes] = {}
    opened: dict[str, Folder] = {}
    with Folder.open(dest, create=True) as top, top.sub(STATE, create=True) as state:
        try:
            record = json.loads(state.read(RECORD, MAX_FILE_BYTES) or b"{}")
            if not isinstance(record, dict):
                record = {}
        except ValueError:
            record = {}
        try:
            for name in course_files(source):
                data = (source / name).read_bytes()
                new = _digest(data)
                folder = _folder_of(top, name, opened)
                base = name.rsplit("/", 1)[-1]
                current = _current(folder, base)
                if current is not None:
                    if current == data:
                        record[name] = new
                        own[name] = data
                        continue
                    if record.get(name) != _digest(current):
                        kept.append(name)
                        continue
                    updated.append(name)
                else:
                    copied.append(name)
                folder.write(base, data)
                record[name] = new
                own[name] = data
        finally:
            for folder in opened.values():
                folder.close()
        state.write(RECORD, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
    return Synced(copied, updated, kept, own)


def trust(own: dict[str, bytes]) -> None:
    """Sign the course's own notebooks as trusted, as `jupyter trust` does, from their bytes.

    JupyterLab renders widget outputs only in trusted notebooks; trusted, the course's notebooks
    show their charts from the saved widget state as soon as they open, before any cell runs.
    The signature goes into Jupyter's own database (nbsignatures.db), not into the file. It is
    made from the bytes hugelab compared or wrote, never from a file read back from DIR (which
    could have changed since), so only a notebook holding exactly the course's bytes is trusted.
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary()
    for name, data in own.items():
        if name.endswith(".ipynb"):
            notary.sign(nbformat.reads(data.decode("utf-8"), as_version=4))


def settings_dir(state: Folder, nbgrader: bool = False) -> Path:
    """JupyterLab's application settings (page_config, overrides) plus hugelab's overrides; nbgrader's menu
    and panels ("Create Assignment") hidden from the learner unless ``nbgrader`` (a teacher's lab)."""
    from jupyterlab.commands import get_app_dir

    state.remove_tree("lab-settings")
    with state.sub("lab-settings", create=True) as target:
        own = Path(get_app_dir()) / "settings"
        if own.is_dir():  # keep what this JupyterLab installation configures
            _copy_tree(own, target)
        if not nbgrader:
            page = own / "page_config.json"
            config = json.loads(page.read_text() or "{}") if page.is_file() else {}
            disabled = config.get("disabledExtensions", {})
            if isinstance(disabled, list):  # JupyterLab reads either form
                disabled = {name: True for name in disabled}
            config["disabledExtensions"] = {**disabled, **{name: True for name in TEACHERS_EXTENSIONS}}
            target.write("page_config.json", (json.dumps(config, indent=1) + "\n").encode())
        with target.sub("overrides.d", create=True) as overrides:
            # overrides.d comes before overrides.json: a site's own overrides.json still wins
            overrides.write("hugelab.json", (json.dumps(OVERRIDES, indent=1) + "\n").encode())
        return target.path


def _copy_tree(source: Path, target: Folder) -> None:
    for path in sorted(source.iterdir()):
        if path.is_dir():
            with target.sub(path.name, create=True) as sub:
                _copy_tree(path, sub)
        elif path.is_file():
            target.write(path.name, path.read_bytes())


def lab_command(root: Path, port: int, settings: Path, workspaces: Path, browser: bool, allow_root: bool = False,
                terminals: bool = False) -> list[str]:
    """JupyterLab's command line: no token on it (see :func:`run`), terminals only if asked for."""
    command = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
               f"--ServerApp.terminals_enabled={terminals}",
               f"--ServerApp.default_url=/lab/tree/{FIRST}", f"--LabApp.app_settings_dir={settings}",
               # the course's own workspaces: tabs a learner left open in any other JupyterLab
               # (~/.jupyter/lab/workspaces) never come back over 00-start-here
               f"--LabApp.workspaces_dir={workspaces}",
               # opening a notebook with another Python leaves it as committed (hugelab.teaching.saving)
               KEEP_RECORDED_PYTHON]
    if not browser:
        command.append("--no-browser")
    if allow_root:
        command.append("--allow-root")
    return command


def copy_course(directory: str) -> Path | None:
    """Copy the course into ``directory`` (or serve it in place), trust its notebooks, check its state folder.

    The folder, or None after saying in one line on stderr why not.
    """
    try:
        source = course_dir()
    except CourseMissing as e:
        print(e, file=sys.stderr)
        return None
    dest = Path(os.path.abspath(directory))  # not resolved: a link planted at DIR is refused, not followed
    try:
        os.makedirs(dest.parent, exist_ok=True)  # checked next, with every folder above
        check_ancestors(dest)
        if os.path.realpath(dest) == str(source.resolve()):
            print(f"hugelab: serving the course in place: {dest}")
            own = {name: (source / name).read_bytes() for name in course_files(source)}
        else:
            synced = sync(source, dest)
            print(f"hugelab: course in {dest}: {len(synced.copied)} file(s) copied, {len(synced.updated)} updated"
                  + (f", {len(synced.kept)} of yours kept" if synced.kept else ""))
            for name in synced.kept:
                print(f"hugelab: kept your {name} (it differs from the course's; rename it to get the course's back)")
            own = synced.own
    except UnsafePath as e:
        print(f"hugelab: {e}", file=sys.stderr)
        return None
    except OSError as e:
        print(f"hugelab: cannot copy the course into {directory}: {e.strerror or e}", file=sys.stderr)
        return None
    # without nbformat (hugelab without the notebooks extra) JupyterLab asks to trust them instead
    with contextlib.suppress(ImportError):
        trust(own)
    return dest


def copy_only(directory: str = "hugelab-course") -> int:
    """``hugelab course DIR`` (and ``hugelab lab --copy-only DIR``): the course into DIR, no server.

    For a JupyterHub's start hook, where the hub's own server is the one that serves it.
    """
    return 0 if copy_course(directory) is not None else 2


def run(directory: str = "hugelab-course", port: int = 8888, browser: bool = True, allow_root: bool = False,
        terminals: bool = False, nbgrader: bool = False) -> int:
    """Copy the course into ``directory``, start JupyterLab on it, print its URL, run until Ctrl-C."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        print("hugelab lab needs JupyterLab: pip install 'hugelab[notebooks]'", file=sys.stderr)
        return 2
    root = os.geteuid() == 0
    if root and not allow_root:
        print("hugelab: as root, JupyterLab's notebooks would run as root: run it as another user, "
              "or pass --allow-root", file=sys.stderr)
        return 2
    # a wrong folder is the user's first mistake to hear of, whatever holds the port (copy_course then
    # checks the folder's links, owner and mode)
    if os.path.lexists(directory) and not os.path.isdir(directory):
        print(f"hugelab: {directory} is not a folder", file=sys.stderr)
        return 2
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            print(f"hugelab: port {port} is taken; choose another with --port, or copy the course without a "
                  f"server: hugelab course {directory}", file=sys.stderr)
            return 2
    dest = copy_course(directory)
    if dest is None:
        return 2
    try:
        with Folder.open(dest) as top, top.sub(STATE, create=True) as state:
            settings = settings_dir(state, nbgrader=nbgrader)
            with state.sub("workspaces", create=True) as workspaces:
                workspaces_path = workspaces.path
            log_fd = state.create("jupyterlab.log")
            log = state.path / "jupyterlab.log"
    except UnsafePath as e:
        print(f"hugelab: {e}", file=sys.stderr)
        return 2
    private = Path(tempfile.mkdtemp(prefix="hugelab-lab-"))  # mode 0700: only we read the token
    token = secrets.token_hex(16)
    token_file = private / "token"
    token_file.touch(mode=0o600)
    token_file.write_text(token)
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_TOKEN"}  # it would win over the file
    env["JUPYTER_TOKEN_FILE"] = str(token_file)
    try:
        server = subprocess.Popen(lab_command(dest, port, settings, workspaces_path, browser,
                                              allow_root=root and allow_root, terminals=terminals),
                                  stdout=log_fd, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
    finally:
        os.close(log_fd)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if not _wait(server, f"http://127.0.0.1:{port}/api/status?token={token}"):
            print(f"hugelab: JupyterLab did not start (exit status {server.poll()}); its log: {log}",
                  file=sys.stderr)
            return 1
        # ?reset: the course's workspace starts empty, so 00-start-here is the tab in front
        print(f"hugelab course: http://127.0.0.1:{port}/lab/tree/{FIRST}?reset&token={token}", flush=True)
        server.wait()
        return 0
    except KeyboardInterrupt as stop:  # 128 + the signal's number, as a shell reports it (SIGTERM: 143)
        return 128 + getattr(stop, "signum", signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(private, ignore_errors=True)


def _wait(server: subprocess.Popen, url: str, seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def _interrupt(signum, frame):
    raise Interrupted(signum)
