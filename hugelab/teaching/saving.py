"""How the course's JupyterLab saves a notebook: with the Python version it was executed with.

JupyterLab writes the running kernel's ``language_info`` into a notebook as soon as the kernel
starts, Python's patch version included. The course's notebooks are committed as they were
executed (with Python 3.11.7, say); a learner on Debian 12 (3.11.2) who only opened one found it
marked changed, and autosave rewrote it: ``git status`` no longer clean (issue 22). No saved form
can prevent that in the browser, so the server keeps the recorded version when it saves:
:func:`keep_recorded_python` is a jupyter_server ``pre_save_hook``, which ``hugelab lab`` (and
so ``scripts/notebooks.sh``) passes as :data:`SERVER_OPTION`.

Only the version is kept, and only when everything else in ``language_info`` is the same (the
same language, from the same kind of kernel); a notebook not on disk yet, or one whose recorded
metadata is not a Python kernel's, is saved as JupyterLab sent it.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

#: the course's notebooks are well under this; a bigger file is not one of ours to compare
MAX_NOTEBOOK_BYTES = 32 << 20
SERVER_OPTION = f"--ContentsManager.pre_save_hook={__name__}.keep_recorded_python"


def recorded_language_info(os_path: Path) -> dict | None:
    """``metadata.language_info`` of the notebook at ``os_path`` as it is on disk (None if there is
    none, or the file is not a regular file of reasonable size, or not a notebook)."""
    try:
        fd = os.open(os_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_NOTEBOOK_BYTES:
            return None
        try:
            found = json.loads(f.read(MAX_NOTEBOOK_BYTES + 1)).get("metadata", {}).get("language_info")
        except (ValueError, AttributeError):
            return None
    return found if isinstance(found, dict) else None


def kept_version(recorded: dict | None, sent: dict) -> str | None:
    """The version to write: the recorded one, if only the version differs."""
    if recorded is None or not isinstance(recorded.get("version"), str) or "version" not in sent:
        return None
    if {k: v for k, v in recorded.items() if k != "version"} != {k: v for k, v in sent.items() if k != "version"}:
        return None
    return recorded["version"]


def keep_recorded_python(model: dict, path: str, contents_manager: Any, **kwargs: Any) -> None:
    """jupyter_server pre_save_hook: a notebook keeps the Python version recorded on disk."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    sent = model["content"].get("metadata", {}).get("language_info")
    if not isinstance(sent, dict):
        return
    os_path = Path(contents_manager.root_dir, *path.strip("/").split("/"))
    version = kept_version(recorded_language_info(os_path), sent)
    if version is not None:
        sent["version"] = version
