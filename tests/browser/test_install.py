"""From a fresh clone, as a newcomer meets hugelab (slow: minutes, a venv and pip each time).

* The README's first command, scripts/notebooks.sh, with Debian's own /usr/bin/python3 first on
  PATH and no other Python: it makes the clone's own .venv and serves 00-start-here.
* The wheel is the product: built from a fresh clone with `python -m build`, installed in a fresh
  venv, run from a folder outside the checkout: `hugelab lab` copies the course and JupyterLab
  opens 00-start-here; `hugelab app` serves the Voila app.
(The README's second command, scripts/test.sh, runs in CI with the same Debian PATH: .ci/run.)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from hugelab import __version__

from fresh import DEBIAN_PATH, Running, clean_env, clone
from harness import why_no_browser

pytestmark = pytest.mark.slow
FIRST = "00-start-here.ipynb"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.read()


def port_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def check_lab(url: str, notebooks: list[str], request, python: Path, course: Path) -> None:
    """JupyterLab at ``url`` serves the course and opens on 00-start-here with no news toast."""
    base, token = url.split("/lab/")[0], url.split("token=")[1]
    assert url.startswith("http://127.0.0.1:") and f"/lab/tree/{FIRST}?reset&token=" in url
    status, page = get(url)
    assert status == 200 and b"JupyterLab" in page
    _, body = get(f"{base}/api/contents?token={token}")
    listed = sorted(item["name"] for item in json.loads(body)["content"] if item["type"] == "notebook")
    assert listed == sorted(notebooks)
    _, body = get(f"{base}/api/contents/{FIRST}?token={token}")
    assert json.loads(body)["type"] == "notebook"
    _, body = get(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}")
    # hugelab's override (no news toast) is the default JupyterLab serves
    assert json.loads(body)["schema"]["properties"]["fetchNews"]["default"] == "false"
    if why_no_browser():
        return  # the HTTP checks above still hold
    page = request.getfixturevalue("browser").new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(url)
        # visible: JupyterLab may also restore a notebook an earlier run left open, in a hidden tab
        page.wait_for_selector(".jp-Notebook >> visible=true", timeout=90_000)
        current = page.locator(".lm-DockPanel .lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel")
        assert current.first.inner_text() == FIRST
        page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=90_000)
        page.wait_for_timeout(1000)
        assert page.get_by_text("official Jupyter news").count() == 0
        # hugelab lab trusts the course's notebooks: their saved widgets draw before any cell runs
        explorer = "03-splitting-a-vma-the-double-credit.ipynb"
        if explorer in notebooks:
            page.goto(url.replace(FIRST, explorer))
            page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=90_000)
            drawn = page.locator("div.bqplot.figure svg rect.plotarea_events")
            for _ in range(240):  # JupyterLab renders only the cells in view: scroll down to the explorer
                if drawn.count():
                    break
                page.mouse.move(700, 500)
                page.mouse.wheel(0, 500)
                page.wait_for_timeout(250)
            assert drawn.count() > 0, "the saved widget state is not drawn before running"
            assert page.get_by_text("Explorer(children=").count() == 0
            # restoring the saved widgets changes nothing in the notebook (where the kernel's Python
            # differs from the one it was executed with, JupyterLab records the new version: dirty)
            kernel = subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                                    capture_output=True, text=True).stdout.strip()
            recorded = json.loads((course / explorer).read_text())["metadata"]["language_info"]["version"]
            if kernel == recorded:
                page.wait_for_timeout(1000)
                assert page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() == 0
    finally:
        page.close()


def debians_python() -> str | None:
    """Why Debian's own python3 cannot be used here, or None."""
    if not Path("/usr/bin/python3").exists():
        return "no /usr/bin/python3"
    base = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.base_prefix)"],
                          capture_output=True, text=True).stdout.strip()
    return None if base == "/usr" else f"/usr/bin/python3 is not the system's Python ({base})"


def test_readme_first_command_from_a_fresh_clone_with_debians_python(tmp_path, request):
    reason = debians_python()
    if reason:
        pytest.skip(reason)
    repo = clone(tmp_path / "hugelab")
    port = free_port()
    as_root = ["--allow-root"] if os.geteuid() == 0 else []  # hugelab lab refuses root unless told
    run = Running(["bash", "scripts/notebooks.sh", "--no-browser", *as_root], repo,
                  clean_env(PATH=DEBIAN_PATH, PORT=str(port)))
    try:
        url, seconds = run.wait_for("hugelab course:", 900)
        print(f"fresh clone -> notebook URL: {seconds:.1f} s")
        notebooks = sorted(p.name for p in (repo / "notebooks").glob("*.ipynb"))
        check_lab(url, notebooks, request, repo / ".venv" / "bin" / "python", repo / "notebooks")
    finally:
        run.stop()
    assert port_closed(port), "JupyterLab still runs after the command was stopped"
    # the clone's own environment, made from Debian's Python, with hugelab from this clone
    venv_python = repo / ".venv" / "bin" / "python"
    show = "import sys, hugelab; print(sys.base_prefix); print(hugelab.__file__)"
    elsewhere = tmp_path / "elsewhere"  # not a folder holding the clone, which would import as a namespace
    elsewhere.mkdir()
    done = subprocess.run([str(venv_python), "-c", show], capture_output=True, text=True,
                          env=clean_env(PATH=DEBIAN_PATH), cwd=elsewhere)
    base, module = done.stdout.split()
    assert base == "/usr"
    assert Path(module).is_relative_to(repo)
    assert not list((repo / "notebooks").glob(".hugelab/course.json"))  # served in place, nothing copied


def test_wheel_from_a_fresh_clone_runs_the_course_and_the_app_from_a_fresh_venv(tmp_path, request):
    repo = clone(tmp_path / "hugelab")
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(repo)],
                           capture_output=True, text=True, env=clean_env(), cwd=tmp_path)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheel, = dist.glob("hugelab-*.whl")
    sdist, = dist.glob("hugelab-*.tar.gz")
    assert wheel.name == f"hugelab-{__version__}-py3-none-any.whl" and sdist.stat().st_size > 0
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean_env())
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[notebooks]"],
                               capture_output=True, text=True, env=clean_env(), cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]

    learner = tmp_path / "learner"  # outside the checkout
    learner.mkdir()
    env = clean_env(PATH=f"{venv / 'bin'}:{DEBIAN_PATH}")
    hugelab = str(venv / "bin" / "hugelab")
    done = subprocess.run([hugelab, "--version"], capture_output=True, text=True, env=env, cwd=learner)
    assert done.stdout.strip() == f"hugelab {__version__}"
    done = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import hugelab, hugelab.teaching.lab as lab; print(hugelab.__file__); "
                           "print(lab.course_dir())"],
                          capture_output=True, text=True, env=env, cwd=learner)
    module, course = map(Path, done.stdout.split())
    site_packages = next((venv / "lib").glob("python3*/site-packages"))
    assert module.is_relative_to(site_packages) and course == site_packages / "hugelab" / "course"
    shipped = sorted(p.name for p in (repo / "notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in course.glob("*.ipynb")) == shipped

    port = free_port()
    as_root = ["--allow-root"] if os.geteuid() == 0 else []  # lab and app refuse root unless told
    lab = Running([hugelab, "lab", "course", "--port", str(port), "--no-browser", *as_root], learner, env)
    try:
        url, _ = lab.wait_for("hugelab course:", 300)
        assert lab.lines[0] == f"hugelab: course in {learner / 'course'}: {len(shipped)} file(s) copied, 0 updated"
        check_lab(url, shipped, request, venv / "bin" / "python", learner / "course")
    finally:
        lab.stop()
    assert port_closed(port)
    for name in shipped:  # the learner's copy is the course's
        assert (learner / "course" / name).read_bytes() == (course / name).read_bytes()

    port = free_port()
    app = Running([hugelab, "app", "--port", str(port), *as_root], learner, env)
    try:
        url, _ = app.wait_for("hugelab split explorer:", 300)
        status, page = get(url)
        assert status == 200 and b"voila" in page.lower()
    finally:
        app.stop()
    assert port_closed(port)
