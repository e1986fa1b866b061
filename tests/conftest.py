import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

#: lines tests want in the final summary (the kernel comparison's counts)
SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter):
    for line in SUMMARY:
        terminalreporter.write_line(line)
