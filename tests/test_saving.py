"""The course's JupyterLab keeps a notebook's recorded Python version when it saves (issue 22:
Debian 12's 3.11.2 rewrote notebooks executed with 3.11.7). The browser test
(browser/test_clean_notebooks.py) holds it against JupyterLab itself; these hold the hook."""

import json
from pathlib import Path
from types import SimpleNamespace

from hugelab.teaching.lab import lab_command
from hugelab.teaching.saving import SERVER_OPTION, keep_recorded_python

INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py", "mimetype": "text/x-python",
        "name": "python", "nbconvert_exporter": "python", "pygments_lexer": "ipython3", "version": "3.11.7"}


def save(root: Path, name: str, info: dict) -> dict:
    """What the hook leaves of a save of ``name`` whose language_info is ``info``."""
    model = {"type": "notebook", "content": {"metadata": {"language_info": dict(info)}, "cells": []}}
    keep_recorded_python(model=model, path=name, contents_manager=SimpleNamespace(root_dir=str(root)))
    return model["content"]["metadata"]["language_info"]


def notebook(path: Path, info: dict) -> None:
    path.write_text(json.dumps({"metadata": {"language_info": info}, "cells": []}))


def test_another_python_saves_the_recorded_version(tmp_path):
    notebook(tmp_path / "03.ipynb", INFO)
    assert save(tmp_path, "03.ipynb", {**INFO, "version": "3.11.2"}) == INFO
    assert save(tmp_path, "/03.ipynb", {**INFO, "version": "3.12.1"}) == INFO


def test_anything_else_that_changed_is_saved_as_sent(tmp_path):
    notebook(tmp_path / "nb.ipynb", INFO)
    other_kernel = {**INFO, "version": "3.11.2", "pygments_lexer": "python3"}
    assert save(tmp_path, "nb.ipynb", other_kernel) == other_kernel
    assert save(tmp_path, "new.ipynb", {**INFO, "version": "3.11.2"})["version"] == "3.11.2"  # not on disk yet
    notebook(tmp_path / "bare.ipynb", {"name": "python"})  # nothing recorded to keep
    assert save(tmp_path, "bare.ipynb", {**INFO, "version": "3.11.2"})["version"] == "3.11.2"


def test_a_file_or_link_that_is_no_notebook_is_not_read(tmp_path):
    secret = tmp_path / "secret.ipynb"
    notebook(secret, INFO)
    (tmp_path / "link.ipynb").symlink_to(secret)
    assert save(tmp_path, "link.ipynb", {**INFO, "version": "3.11.2"})["version"] == "3.11.2"
    (tmp_path / "junk.ipynb").write_text("not json")
    assert save(tmp_path, "junk.ipynb", {**INFO, "version": "3.11.2"})["version"] == "3.11.2"
    model = {"type": "file", "content": "text"}
    keep_recorded_python(model=model, path="secret.ipynb", contents_manager=SimpleNamespace(root_dir=str(tmp_path)))
    assert model == {"type": "file", "content": "text"}


def test_hugelab_lab_gives_its_jupyterlab_the_hook(tmp_path):
    command = lab_command(tmp_path, 8888, tmp_path, tmp_path, browser=False)
    assert SERVER_OPTION in command
    assert SERVER_OPTION == "--ContentsManager.pre_save_hook=hugelab.teaching.saving.keep_recorded_python"
