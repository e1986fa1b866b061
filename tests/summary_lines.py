"""Lines that tests add to pytest's final summary (the kernel comparison's counts)."""

SUMMARY: list[str] = []
