"""Red team, the app: a real ``hugelab app`` (Voila) on loopback, probed by another local user.

Needs Voila; the other user's requests need root (to switch to ``nobody``).
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from bounded import NOBODY, REPO, as_user, can_switch_user, hugelab, one_line

from hugelab import limits
from hugelab.app import descendants, voila_config

voila = pytest.importorskip("voila")


@pytest.fixture(scope="module")
def app():
    """``hugelab app --port 0 --allow-root``: its process, URL and token."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "hugelab", "app", "--port", "0", "--allow-root"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = proc.stdout.readline()
    assert line.startswith("hugelab split explorer: http://127.0.0.1:"), (line, proc.stderr.read()[-2000:])
    url = line.split()[-1]
    base, token = url.split("?token=")
    yield proc, base, token
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def get(url: str) -> int:
    """Status of a GET, redirects not followed."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def kernels(proc) -> list[int]:
    """The notebook kernels the app runs, as processes (Voila's REST API is not served standalone)."""
    found = []
    for pid in descendants(proc.pid):
        try:
            if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def test_the_printed_url_has_the_real_port_when_the_os_chose_it(app):
    _, base, token = app
    port = int(base.rsplit(":", 1)[1].strip("/"))
    assert port != 0 and len(token) >= 40


def test_without_the_token_nobody_gets_a_page_or_a_kernel(app):
    base = app[1]
    for path in ["", "voila/render/explorer.ipynb", "api/kernels", "api/sessions"]:
        assert get(base + path) in (302, 403, 404), path
        assert get(f"{base}{path}?token=wrong") in (302, 403, 404), path
    reason = can_switch_user()
    if reason is None:  # as another local user, with curl: refused too
        done = subprocess.run(as_user(NOBODY, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", base]),
                              capture_output=True, text=True, timeout=60)
        assert done.stdout in ("302", "403"), done
    assert kernels(app[0]) == []


def test_the_token_is_on_no_command_line(app):
    proc, _, token = app
    for pid in [proc.pid, *descendants(proc.pid)]:
        try:
            assert token.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
            assert token.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
        except FileNotFoundError:
            pass


def test_page_loads_start_at_most_the_capped_number_of_kernels(app):
    _, base, token = app
    statuses = [get(f"{base}?token={token}") for _ in range(limits.APP_MAX_KERNELS + 2)]
    assert statuses.count(200) == limits.APP_MAX_KERNELS and statuses[-1] == 503, statuses
    assert len(kernels(app[0])) == limits.APP_MAX_KERNELS


def test_an_idle_kernel_is_really_stopped_and_its_slot_given_back():
    """A second app with the shortest idle time: a page's kernel goes, and a new page gets one."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    idle = limits.APP_MIN_IDLE_SECONDS
    proc = subprocess.Popen([sys.executable, "-m", "hugelab", "app", "--port", "0", "--allow-root",
                             "--idle-seconds", str(idle)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("hugelab split explorer: http://127.0.0.1:"), (line, proc.stderr.read()[-2000:])
        base, token = line.split()[-1].split("?token=")
        statuses = [get(f"{base}?token={token}") for _ in range(limits.APP_MAX_KERNELS)]
        assert statuses == [200] * limits.APP_MAX_KERNELS and get(f"{base}?token={token}") == 503
        started = time.monotonic()
        while kernels(proc) and time.monotonic() - started < 3 * idle + 30:
            time.sleep(1)
        gone = time.monotonic() - started
        assert kernels(proc) == [], f"kernels still running {gone:.0f} s after the last page load"
        assert gone >= idle - 1  # culled for being idle, not at once
        assert get(f"{base}?token={token}") == 200  # the slots came back
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def test_a_kernel_idle_with_its_tab_still_open_is_culled_too():
    """Four tabs left open must not hold every slot: a connected kernel that is idle goes as well."""
    import asyncio
    import re
    import threading

    from tornado.websocket import websocket_connect

    env = dict(os.environ, PYTHONPATH=str(REPO))
    idle = limits.APP_MIN_IDLE_SECONDS
    proc = subprocess.Popen([sys.executable, "-m", "hugelab", "app", "--port", "0", "--allow-root",
                             "--idle-seconds", str(idle)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    connected = threading.Event()
    try:
        line = proc.stdout.readline()
        assert line.startswith("hugelab split explorer: http://127.0.0.1:"), (line, proc.stderr.read()[-2000:])
        base, token = line.split()[-1].split("?token=")
        with urllib.request.urlopen(f"{base}?token={token}", timeout=120) as page:
            kernel_id = re.search(r'kernelId": "([0-9a-f-]+)"', page.read().decode()).group(1)
        channels = f"{base.replace('http://', 'ws://')}api/kernels/{kernel_id}/channels?token={token}"

        async def hold_the_tab_open():  # as a browser tab does: connected, saying nothing
            connection = await websocket_connect(channels)
            connected.set()
            while await connection.read_message() is not None:
                pass
        threading.Thread(target=lambda: asyncio.run(hold_the_tab_open()), daemon=True).start()
        assert connected.wait(60), "the kernel's channels did not accept the tab"
        assert len(kernels(proc)) == 1
        started = time.monotonic()
        while kernels(proc) and time.monotonic() - started < 3 * idle + 30:
            time.sleep(0.5)
        assert kernels(proc) == [], f"a connected idle kernel still runs {time.monotonic() - started:.0f} s on"
        assert time.monotonic() - started >= idle - 2  # culled for being idle, not at once
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def test_idle_seconds_below_the_floor_is_refused_in_one_line():
    done = hugelab("app", "--idle-seconds", "3")
    assert one_line(done, 2).strip() == f"hugelab: --idle-seconds must be at least {limits.APP_MIN_IDLE_SECONDS}, not 3"


def test_idle_kernels_are_culled_by_configuration():
    manager = voila_config(1, "t")["CappedKernelManager"]
    assert manager["cull_idle_timeout"] == limits.APP_KERNEL_IDLE_SECONDS
    assert manager["cull_interval"] == limits.APP_CULL_INTERVAL_SECONDS
    assert manager["max_kernels"] == limits.APP_MAX_KERNELS
    assert manager["cull_connected"] is True  # an open tab does not keep an idle kernel


def test_sigterm_stops_voila_and_every_kernel(app):
    proc, base, token = app
    if not kernels(proc):
        assert get(f"{base}?token={token}") == 200
    family = descendants(proc.pid)
    assert len(family) >= 2  # Voila and at least one kernel
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(2 * limits.APP_STOP_SECONDS + 30)
    assert time.monotonic() - start < 2 * limits.APP_STOP_SECONDS + 30
    assert proc.returncode == 128 + signal.SIGTERM  # 143, as a shell reports a process SIGTERM ended
    assert "Traceback" not in proc.stderr.read()
    time.sleep(0.5)
    assert [pid for pid in family if Path(f"/proc/{pid}").exists()] == []


def test_root_needs_allow_root():
    if os.geteuid() != 0:
        pytest.skip("only root is refused")
    line = one_line(hugelab("app", "--port", "0", timeout=60), 2)
    assert "--allow-root" in line


def test_a_taken_port_is_one_line():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        line = one_line(hugelab("app", "--port", str(s.getsockname()[1]), "--allow-root", timeout=60), 2)
    assert "is taken" in line
