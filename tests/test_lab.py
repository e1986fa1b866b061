"""`hugelab lab` copies the course without ever overwriting a learner's work; `--version`."""

import contextlib
import json
import subprocess
import sys

import pytest

from hugelab import __version__
from hugelab.teaching.lab import FIRST, course_dir, course_files, sync


def notebook(text: str, version: str = "3.11.2") -> str:
    return json.dumps({"cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": text}],
                       "metadata": {"language_info": {"name": "python", "version": version}},
                       "nbformat": 4, "nbformat_minor": 5})


def test_version():
    done = subprocess.run([sys.executable, "-m", "hugelab", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"hugelab {__version__}"


def test_the_course_is_found_and_starts_with_00_start_here():
    names = course_files(course_dir())
    assert names[0] == FIRST
    assert all(".ipynb_checkpoints" not in n for n in names)


def test_sync_copies_updates_its_own_copies_and_keeps_the_learners(tmp_path):
    course, dest = tmp_path / "course", tmp_path / "mine"
    course.mkdir()
    (course / FIRST).write_text(notebook("v1"))
    (course / "01-next.ipynb").write_text(notebook("v1"))
    assert sync(course, dest)[:3] == ([FIRST, "01-next.ipynb"], [], [])
    assert sync(course, dest)[:3] == ([], [], [])  # nothing changed: nothing to say
    # the learner edits 01; 00 is rewritten with only another kernel version in its metadata, which
    # is not the course's bytes either: only a file exactly as hugelab wrote it is hugelab's
    (dest / "01-next.ipynb").write_text(notebook("my notes"))
    (dest / FIRST).write_text(notebook("v1", version="3.12.1"))
    (course / "02-last.ipynb").write_text(notebook("v1"))
    assert sync(course, dest)[:3] == (["02-last.ipynb"], [], [FIRST, "01-next.ipynb"])
    # a new course release changes all three
    for name in (FIRST, "01-next.ipynb", "02-last.ipynb"):
        (course / name).write_text(notebook("v2"))
    synced = sync(course, dest)
    assert synced[:3] == ([], ["02-last.ipynb"], [FIRST, "01-next.ipynb"])
    assert synced.own == {"02-last.ipynb": (course / "02-last.ipynb").read_bytes()}  # only these are trusted
    assert "v2" in (dest / "02-last.ipynb").read_text()
    assert "my notes" in (dest / "01-next.ipynb").read_text()
    # kept stays kept, even when the learner's file is older than hugelab's record
    assert sync(course, dest)[:3] == ([], [], [FIRST, "01-next.ipynb"])
    # deleting it brings the course's back
    (dest / "01-next.ipynb").unlink()
    assert sync(course, dest)[:3] == (["01-next.ipynb"], [], [FIRST])


def test_a_file_that_was_there_before_hugelab_is_kept(tmp_path):
    course, dest = tmp_path / "course", tmp_path / "mine"
    course.mkdir()
    dest.mkdir()
    (course / FIRST).write_text(notebook("course"))
    (dest / FIRST).write_text(notebook("someone else's"))
    assert sync(course, dest)[:3] == ([], [], [FIRST])
    assert "someone else's" in (dest / FIRST).read_text()


def test_lab_says_what_it_kept_and_refuses_a_taken_port(tmp_path):
    import socket

    mine = tmp_path / "course"
    mine.mkdir()
    (mine / FIRST).write_text("my own first notebook")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "hugelab", "lab", str(mine), "--port", str(port), "--no-browser",
                               "--allow-root"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"hugelab: port {port} is taken; choose another with --port, or copy the "
                                   f"course without a server: hugelab course {mine}")
    assert (mine / FIRST).read_text() == "my own first notebook"


def test_course_copies_without_a_server_while_the_port_is_taken(tmp_path):
    """A hub's start hook: `hugelab course DIR` (and `lab --copy-only`) copy, keep the learner's, serve nothing."""
    import socket

    dest = tmp_path / "hugelab-course"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        first = subprocess.run([sys.executable, "-m", "hugelab", "lab", "--copy-only", str(dest), "--port", str(port)],
                               capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    names = course_files(course_dir())
    assert f"{len(names)} file(s) copied" in first.stdout and first.stderr == ""
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")
                  if p.is_file() and ".hugelab" not in p.parts) == names
    (dest / FIRST).write_text("my notes")
    again = subprocess.run([sys.executable, "-m", "hugelab", "course", str(dest)],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and f"kept your {FIRST}" in again.stdout
    assert (dest / FIRST).read_text() == "my notes"
    path = tmp_path / "file"
    path.write_text("x")
    refused = subprocess.run([sys.executable, "-m", "hugelab", "course", str(path)],
                             capture_output=True, text=True, timeout=60)
    assert (refused.returncode, refused.stderr.strip()) == (2, f"hugelab: {path} is not a folder")


def test_lab_on_a_file_is_one_line(tmp_path):
    """Said whatever holds the default port: with 8888 taken (here by this test, when it is free) the
    folder's mistake came second and was never heard of."""
    import socket

    path = tmp_path / "file"
    path.write_text("x")
    with socket.socket() as holder:
        with contextlib.suppress(OSError):  # already taken by another program: taken all the same
            holder.bind(("127.0.0.1", 8888))
            holder.listen()
        done = subprocess.run([sys.executable, "-m", "hugelab", "lab", str(path), "--no-browser", "--allow-root"],
                              capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr.strip()) == (2, f"hugelab: {path} is not a folder")


def test_a_learners_lab_hides_nbgrader_and_a_teachers_shows_it(tmp_path):
    """A fresh learner met nbgrader's "Nbgrader" menu and "Create Assignment" tab (nbgrader is installed for
    teachers): the learner's lab disables its extension, as JupyterLab reads the page config it is given."""
    pytest.importorskip("jupyterlab")
    from jupyterlab_server.config import get_page_config

    from hugelab.ownfiles import Folder
    from hugelab.teaching.lab import TEACHERS_EXTENSIONS, settings_dir

    for teacher in (False, True):
        home = tmp_path / ("teacher" if teacher else "learner")
        home.mkdir(mode=0o700)
        with Folder.open(home) as state:
            settings = settings_dir(state, nbgrader=teacher)
        config = get_page_config([], str(settings))
        disabled = config["disabledExtensions"]  # a list of names once JupyterLab has read it
        hidden = set(disabled) if isinstance(disabled, list) else {name for name, off in disabled.items() if off}
        assert hidden.isdisjoint(TEACHERS_EXTENSIONS) == teacher, config["disabledExtensions"]
    assert "@jupyter/nbgrader" in TEACHERS_EXTENSIONS
    done = subprocess.run([sys.executable, "-m", "hugelab", "lab", "--help"], capture_output=True, text=True)
    assert "--nbgrader" in done.stdout
