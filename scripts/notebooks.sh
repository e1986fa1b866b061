#!/usr/bin/env bash
# Make this checkout's .venv (scripts/venv.sh) with hugelab, JupyterLab, widgets and charts, and
# open the course in place: JupyterLab on 127.0.0.1:${PORT:-8888}, on notebooks/00-start-here.
# Extra arguments go to `hugelab lab` (e.g. --no-browser; as root, --allow-root).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
hugelab_venv notebooks
exec python -m hugelab lab notebooks --port "${PORT:-8888}" "$@"
