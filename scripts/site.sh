#!/usr/bin/env bash
# The static site of the course: site/index.html and one HTML page per notebook, drawn from the
# widget state saved in the notebooks (no Python, no network when viewed; open it from files).
# The widget manager comes once from the npm registry (npm pack) into .venv/site-npm. Installs
# only what the site needs (hugelab[site]: nbconvert and bqplot) into the checkout's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
hugelab_venv site
exec python scripts/course.py site "$@"
