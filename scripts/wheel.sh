#!/usr/bin/env bash
# The wheel and the sdist, into dist/ (or the folder given): PyPA's `build`, run from this
# checkout's .venv (scripts/venv.sh), so it works on a stock Debian or Ubuntu, which has no
# `python` command, no `build` module and refuses pip in the system Python (PEP 668).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
hugelab_venv build
exec python -m build --outdir "${1:-dist}" .
