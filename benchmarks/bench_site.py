"""Static site build time (scripts/site.sh -> scripts/course.py site), over N builds into a
temporary folder. The first build of a checkout also fetches the widget manager with npm
(once, cached in .venv/site-npm): --cold clears that cache before the first build.

    python benchmarks/bench_site.py [--runs N] [--cold]
"""

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import course  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    if args.cold:
        shutil.rmtree(REPO / ".venv" / "site-npm", ignore_errors=True)
    times = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            times.append(course.build_site(Path(tmp) / "site"))
    pages = len(course.course_notebooks())
    print(f"static site, {pages} pages + index: " + ", ".join(f"{t:.1f}" for t in times)
          + f" s (median {statistics.median(times):.1f} s; first {'with' if args.cold else 'without'} the npm fetch)")


if __name__ == "__main__":
    main()
