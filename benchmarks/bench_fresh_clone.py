"""From a fresh clone to the first notebook's URL with the README's first command
(scripts/notebooks.sh), with Debian's own python3 first on PATH.

"warm": pip's download cache as it is on this machine (wheels already fetched once);
"cold": PIP_NO_CACHE_DIR=1, every wheel fetched from the package index again.
The clock runs from `bash scripts/notebooks.sh` to its "hugelab course: URL" line, which it
prints once JupyterLab answers; the git clone itself (about 0.1 s) is not counted.

    python benchmarks/bench_fresh_clone.py [--warm N] [--cold N]
"""

import argparse
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fresh import DEBIAN_PATH, Running, clean_env, clone


def once(cold: bool, port: int) -> float:
    with tempfile.TemporaryDirectory(prefix="hugelab-bench-") as tmp:
        repo = clone(Path(tmp) / "hugelab")
        env = clean_env(PATH=DEBIAN_PATH, PORT=str(port), **({"PIP_NO_CACHE_DIR": "1"} if cold else {}))
        run = Running(["bash", "scripts/notebooks.sh", "--no-browser"], repo, env)
        try:
            url, seconds = run.wait_for("hugelab course:", 1800)
            urllib.request.urlopen(url, timeout=30).close()
        finally:
            run.stop()
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--cold", type=int, default=1)
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args()
    for label, cold, runs in (("warm", False, args.warm), ("cold", True, args.cold)):
        times = [once(cold, args.port) for _ in range(runs)]
        if times:
            print(f"{label} pip cache: fresh clone -> notebook URL, {runs} run(s): "
                  + ", ".join(f"{t:.1f}" for t in times) + f" s (median {statistics.median(times):.1f} s)", flush=True)


if __name__ == "__main__":
    main()
