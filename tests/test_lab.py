"""`hugelab lab` copies the course without ever overwriting a learner's work; `--version`."""

import json
import subprocess
import sys

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
    assert sync(course, dest) == ([FIRST, "01-next.ipynb"], [], [])
    assert sync(course, dest) == ([], [], [])  # nothing changed: nothing to say
    # the learner edits 01; JupyterLab rewrote only the kernel's version in 00 (opened, not edited)
    (dest / "01-next.ipynb").write_text(notebook("my notes"))
    (dest / FIRST).write_text(notebook("v1", version="3.12.1"))
    # a new course release changes both
    (course / FIRST).write_text(notebook("v2"))
    (course / "01-next.ipynb").write_text(notebook("v2"))
    assert sync(course, dest) == ([], [FIRST], ["01-next.ipynb"])
    assert "v2" in (dest / FIRST).read_text()
    assert "my notes" in (dest / "01-next.ipynb").read_text()
    # kept stays kept, even when the learner's file is older than hugelab's record
    assert sync(course, dest) == ([], [], ["01-next.ipynb"])
    # deleting it brings the course's back
    (dest / "01-next.ipynb").unlink()
    assert sync(course, dest) == (["01-next.ipynb"], [], [])


def test_a_file_that_was_there_before_hugelab_is_kept(tmp_path):
    course, dest = tmp_path / "course", tmp_path / "mine"
    course.mkdir()
    dest.mkdir()
    (course / FIRST).write_text(notebook("course"))
    (dest / FIRST).write_text(notebook("someone else's"))
    assert sync(course, dest) == ([], [], [FIRST])
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
        done = subprocess.run([sys.executable, "-m", "hugelab", "lab", str(mine), "--port", str(port), "--no-browser"],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"hugelab: port {port} is taken; choose another with --port"
    assert (mine / FIRST).read_text() == "my own first notebook"


def test_lab_on_a_file_is_one_line(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    done = subprocess.run([sys.executable, "-m", "hugelab", "lab", str(path), "--no-browser"],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr.strip()) == (2, f"hugelab: {path} is not a folder")
