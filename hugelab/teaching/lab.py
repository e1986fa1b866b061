"""``hugelab lab [DIR]``: copy the course into DIR and open it in JupyterLab, on loopback.

Where the course comes from: an installed wheel carries the notebooks as ``hugelab/course/``
(copied from the checkout's ``notebooks/`` when the wheel is built, see setup.py); an editable
install (a checkout, as scripts/notebooks.sh makes) reads ``notebooks/`` itself, the one source.

Copying never overwrites a learner's work: DIR keeps ``.hugelab/course.json``, the hash of every
file as hugelab last copied it (of a notebook: without the kernel metadata JupyterLab rewrites on
opening). A file that still has that hash is hugelab's own copy and is brought up to date; any
other existing file is the learner's (edited, or run) and is kept, and the command says so.
When DIR is the course itself (a checkout's ``notebooks/``), nothing is copied.

JupyterLab starts on 127.0.0.1 with a fresh token, on ``00-start-here``, with its own settings
overrides (``.hugelab/lab-settings``): no "official Jupyter news?" toast over the first notebook.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

FIRST = "00-start-here.ipynb"
STATE = ".hugelab"  # in DIR: the copy record, the settings overrides, the server's log
SKIP = {".ipynb_checkpoints", "__pycache__", STATE}
# JupyterLab's notification plugin: "false" answers the news question (no toast) and
# checkForUpdates off keeps an "update available" toast from covering the notebook as well.
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


# What JupyterLab itself rewrites when a notebook merely opens: the running kernel's name and
# Python version. A notebook that differs only there is not a learner's edit.
KERNEL_METADATA = ("kernelspec", "language_info")


def _digest(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        try:
            nb = json.loads(data)
            for key in KERNEL_METADATA:
                nb.get("metadata", {}).pop(key, None)
            data = json.dumps(nb, sort_keys=True).encode()
        except (ValueError, AttributeError):
            pass  # not a notebook after all: compare the bytes
    return hashlib.sha256(data).hexdigest()


def sync(source: Path, dest: Path) -> tuple[list[str], list[str], list[str]]:
    """Copy the course from ``source`` into ``dest``; (copied, updated, kept) file names.

    Kept: files in ``dest`` that differ from the course and are not hugelab's last copy.
    """
    record_path = dest / STATE / "course.json"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    copied, updated, kept = [], [], []
    for name in course_files(source):
        src, target = source / name, dest / name
        new = _digest(src)
        if target.exists():
            current = _digest(target)
            if current == new:
                record[name] = new
                continue
            if record.get(name) != current:
                kept.append(name)
                continue
            updated.append(name)
        else:
            copied.append(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".hugelab-tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
        record[name] = new
    record_path.parent.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return copied, updated, kept


def trust(notebooks: list[Path]) -> None:
    """Sign the course's own notebooks as trusted, as `jupyter trust` does.

    JupyterLab renders widget outputs only in trusted notebooks; trusted, the course's notebooks
    show their charts from the saved widget state as soon as they open, before any cell runs.
    The signature goes into Jupyter's own database (nbsignatures.db), not into the file, and a
    learner's kept notebooks are left as they are.
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary()
    for path in notebooks:
        notary.sign(nbformat.read(path, as_version=4))


def settings_dir(state: Path) -> Path:
    """JupyterLab's application settings (page_config, overrides) plus hugelab's overrides."""
    from jupyterlab.commands import get_app_dir

    target = state / "lab-settings"
    shutil.rmtree(target, ignore_errors=True)
    own = Path(get_app_dir()) / "settings"
    if own.is_dir():  # keep what this JupyterLab installation configures
        shutil.copytree(own, target)
    (target / "overrides.d").mkdir(parents=True, exist_ok=True)
    # overrides.d comes before overrides.json: a site's own overrides.json still wins
    (target / "overrides.d" / "hugelab.json").write_text(json.dumps(OVERRIDES, indent=1) + "\n")
    return target


def lab_command(root: Path, port: int, token: str, settings: Path, browser: bool) -> list[str]:
    command = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--ServerApp.default_url=/lab/tree/{FIRST}", f"--LabApp.app_settings_dir={settings}",
               # the course's own workspaces: tabs a learner left open in any other JupyterLab
               # (~/.jupyter/lab/workspaces) never come back over 00-start-here
               f"--LabApp.workspaces_dir={settings.parent / 'workspaces'}"]
    if not browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def run(directory: str = "hugelab-course", port: int = 8888, browser: bool = True) -> int:
    """Copy the course into ``directory``, start JupyterLab on it, print its URL, run until Ctrl-C."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        print("hugelab lab needs JupyterLab: pip install 'hugelab[notebooks]'", file=sys.stderr)
        return 2
    try:
        source = course_dir()
    except CourseMissing as e:
        print(e, file=sys.stderr)
        return 2
    dest = Path(directory).resolve()
    if dest.exists() and not dest.is_dir():
        print(f"hugelab: {directory} is not a folder", file=sys.stderr)
        return 2
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            print(f"hugelab: port {port} is taken; choose another with --port", file=sys.stderr)
            return 2
    kept: list[str] = []
    if dest == source.resolve():
        print(f"hugelab: serving the course in place: {dest}")
    else:
        copied, updated, kept = sync(source, dest)
        print(f"hugelab: course in {dest}: {len(copied)} file(s) copied, {len(updated)} updated"
              + (f", {len(kept)} of yours kept" if kept else ""))
        for name in kept:
            print(f"hugelab: kept your {name} (it differs from the course's; rename it to get the course's back)")
    trust([dest / name for name in course_files(source) if name.endswith(".ipynb") and name not in kept])
    state = dest / STATE
    state.mkdir(exist_ok=True)
    token = secrets.token_hex(16)
    log = state / "jupyterlab.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(lab_command(dest, port, token, settings_dir(state), browser),
                                  stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
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
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


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
    raise KeyboardInterrupt
