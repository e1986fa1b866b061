#!/usr/bin/env bash
# Install hugelab with JupyterLab, widgets and charts, and open the first notebook.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[notebooks]"
root=()
[ "$(id -u)" = 0 ] && root=(--allow-root)
exec jupyter lab "${root[@]}" notebooks/00-start-here.ipynb
