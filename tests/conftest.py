import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from summary_lines import SUMMARY


def pytest_terminal_summary(terminalreporter):
    for line in SUMMARY:
        terminalreporter.write_line(line)
