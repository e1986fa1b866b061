#!/usr/bin/env bash
# Install hugelab with JupyterLab, widgets and charts, and open the first notebook.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[notebooks]"
root=()
[ "$(id -u)" = 0 ] && root=(--allow-root)
port=${PORT:-8888}
token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
# JupyterLab's own banner links to /lab; this link lands on the first notebook, and so does
# a desktop browser if JupyterLab opens one (default_url).
echo "hugelab notebooks: http://127.0.0.1:${port}/lab/tree/00-start-here.ipynb?token=${token}"
exec jupyter lab "${root[@]}" --ServerApp.port="${port}" --ServerApp.port_retries=0 \
    --IdentityProvider.token="${token}" --ServerApp.root_dir=notebooks \
    --ServerApp.default_url=/lab/tree/00-start-here.ipynb
