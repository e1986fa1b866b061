import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import OUTPUT, Lab, launch, why_no_browser

REASON = why_no_browser()


@pytest.fixture(scope="session")
def lab():
    if REASON:
        pytest.skip(f"browser tests skipped: {REASON}")
    server = Lab()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if REASON:
        pytest.skip(f"browser tests skipped: {REASON}")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    p = context.new_page()
    p.console_errors = []
    p.on("console", lambda m: m.type == "error" and p.console_errors.append(m.text))
    yield p
    context.close()


@pytest.fixture(scope="session")
def shots():
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
