#!/usr/bin/env bash
# Install everything the tests need on a fresh machine of this kind, then run every test:
# lint (ruff), types (mypy), unit, property, CLI, widgets, real kernel (as root), notebooks (nbval) and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"

# Debian's chromium for the browser tests (never `playwright install`: it downloads a browser).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
fi

# lint and types first: cheap, and a failure says exactly where
python3 -m ruff check .
python3 -m mypy hugelab

exec python3 -m pytest tests notebooks --nbval --nbval-current-env -p no:cacheprovider "$@"
