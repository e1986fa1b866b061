#!/usr/bin/env bash
# After changing a notebook: run every notebook (or the ones named) in a fresh kernel of this
# checkout's .venv, store the widget state (GitHub, nbviewer and the static site draw the charts
# from it), and write each in the exact form JupyterLab saves, so opening it changes no byte.
# No notebook touches the running kernel as committed (06-lab's ON_MY_KERNEL is False).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
hugelab_venv test
exec python scripts/course.py execute "$@"
