"""A lecturer's unit on a local JupyterHub: the hub on 127.0.0.1 with the dummy authenticator,
each student's server starting with `hugelab course` (docs/hub.md), a graded notebook released
with nbgrader, fetched and submitted by two students through their own servers (the Assignments
tab's endpoints), collected, autograded and given feedback.

Needs jupyterhub (pip) and configurable-http-proxy (npm); scripts/test.sh installs both."""

import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hugelab.replay import replay
from hugelab.teaching.assignments import questions, student_variant

pytestmark = pytest.mark.skipif(
    shutil.which("configurable-http-proxy") is None or shutil.which("jupyterhub",
                                                                     path=str(Path(sys.executable).parent)) is None,
    reason="needs jupyterhub and configurable-http-proxy (scripts/test.sh installs them as root)")

BIN = str(Path(sys.executable).parent)
ASSIGNMENT = "hugelab-03"
SPAWN_SECONDS = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, token, method="GET", body=None, expect=(200, 201, 202, 204)):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
            assert response.status in expect, (url, response.status, text)
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        raise AssertionError(f"{method} {url}: {e.code} {e.read().decode()[:500]}") from None


def hub_config(tmp: Path, port: int, token: str, exchange: Path) -> str:
    return f'''
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.pid_file = {str(tmp / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{tmp / "hub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(tmp / "cookie_secret")!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "hugelab"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(tmp / "home" / "{username}")!r}
# docs/hub.md's start hook: a copy of the course per student, then the hub's own server
c.Spawner.cmd = ["sh", "-c", 'hugelab course "$HOME/hugelab-course" && exec jupyterhub-singleuser "$@"', "--"]
c.Spawner.args = ["--allow-root"]
c.Spawner.start_timeout = {SPAWN_SECONDS}
c.Spawner.http_timeout = {SPAWN_SECONDS}
c.Spawner.environment = {{"PATH": {BIN + os.pathsep + os.environ["PATH"]!r}}}
c.JupyterHub.services = [{{"name": "lecturer", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "lecturer", "services": ["lecturer"],
                             "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"]}}]
'''


def student_config(home: Path, exchange: Path) -> None:
    """What a hub's image sets for nbgrader: the exchange, and the student's id (the hub user)."""
    config = home / ".jupyter" / "nbgrader_config.py"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("import os\nc = get_config()  # noqa: F821\n"
                      f"c.Exchange.root = {str(exchange)!r}\n"
                      "c.CourseDirectory.student_id = os.environ['JUPYTERHUB_USER']\n")


def nbgrader(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]})
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def wait_ready(base, token, user):
    deadline = time.monotonic() + SPAWN_SECONDS
    while time.monotonic() < deadline:
        model = call(f"{base}/hub/api/users/{user}", token)
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{user}'s server did not start within {SPAWN_SECONDS} s")


def test_a_lecturer_releases_a_graded_notebook_to_two_students_on_a_jupyterhub(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    exchange, course = tmp_path / "exchange", tmp_path / "course"
    exchange.mkdir(mode=0o777)
    # the lecturer: the graded notebook, generated and released into the exchange
    done = subprocess.run([sys.executable, "-m", "hugelab", "assignments", str(course), "--only", "03"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"c.Exchange.root = {str(exchange)!r}\n")
    nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=course)
    nbgrader("release_assignment", ASSIGNMENT, cwd=course)
    for student in ("alice", "bob"):
        student_config(tmp_path / "home" / student, exchange)
    (tmp_path / "jupyterhub_config.py").write_text(hub_config(tmp_path, port, token, exchange))
    log = (tmp_path / "hub.log").open("w")
    hub = subprocess.Popen([str(Path(BIN) / "jupyterhub"), "-f", str(tmp_path / "jupyterhub_config.py")],
                           cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           env={**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                call(f"{base}/hub/api/", token)
                break
            except (OSError, AssertionError):
                assert hub.poll() is None and time.monotonic() < deadline, (tmp_path / "hub.log").read_text()[-3000:]
                time.sleep(0.5)
        call(f"{base}/hub/api/users", token, "POST", {"usernames": ["alice", "bob"]}, expect=(201,))
        graded = questions("03")[0]
        for student in ("alice", "bob"):
            call(f"{base}/hub/api/users/{student}/server", token, "POST", {}, expect=(201, 202))
            wait_ready(base, token, student)
            own = call(f"{base}/hub/api/users/{student}/tokens", token, "POST", {"note": "test"})["token"]
            user = f"{base}/user/{student}"
            # the start hook copied the course into the student's home
            listing = call(f"{user}/api/contents/hugelab-course", own)
            assert "00-start-here.ipynb" in {item["name"] for item in listing["content"]}
            # the Assignments tab: the released notebook is there to fetch
            released = call(f"{user}/assignments?course_id=hugelab", own)
            assert [a["assignment_id"] for a in released["value"]] == [ASSIGNMENT]
            call(f"{user}/assignments/fetch", own, "POST", {"course_id": "hugelab", "assignment_id": ASSIGNMENT})
            path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
            nb = call(f"{user}/api/contents/{path}", own)["content"]
            trace, policy = student_variant(ASSIGNMENT, student)
            right = {g.name: g.question.answer for g in graded} | {"q03_own": replay(trace, policy)[-1].counters.rsvd}
            answers = right if student == "alice" else {name: value + 1 for name, value in right.items()}
            for cell in nb["cells"]:
                meta = cell["metadata"].get("nbgrader", {})
                if meta.get("solution"):
                    name = meta["grade_id"].removesuffix("_answer")
                    cell["source"] = f"{name} = {answers[name]}\n"
            call(f"{user}/api/contents/{path}", own, "PUT", {"type": "notebook", "format": "json", "content": nb})
            submitted = call(f"{user}/assignments/submit", own, "POST",
                             {"course_id": "hugelab", "assignment_id": ASSIGNMENT})
            assert "success" not in submitted or submitted["success"], submitted
        # the lecturer: collect, autograde, feedback, grades
        nbgrader("collect", ASSIGNMENT, cwd=course)
        for student in ("alice", "bob"):
            assert (course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        nbgrader("autograde", ASSIGNMENT, "--create", cwd=course)
        nbgrader("generate_feedback", ASSIGNMENT, cwd=course)
        nbgrader("export", cwd=course)
        with open(course / "grades.csv", newline="") as f:
            grades = {row["student_id"]: row for row in csv.DictReader(f)}
        top = float(grades["alice"]["max_score"])
        assert top == len(graded) + 2
        assert (float(grades["alice"]["score"]), float(grades["bob"]["score"])) == (top, 0.0)
        assert "Not " in (course / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    finally:
        # the hub stops its proxy and the students' servers on SIGTERM (its own session: only what it started)
        hub.terminate()
        try:
            hub.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, 9)
            hub.wait()
        log.close()
