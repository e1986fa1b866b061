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

# QEMU and static busybox for the guest-kernel tests (Linux 6.1 and 6.12 in throw-away guests;
# the kernels themselves are fetched with apt-get download on first use, into ~/.cache/hugelab).
if ! { command -v qemu-system-x86_64 && command -v busybox; } >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
        && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends qemu-system-x86 busybox-static cpio >/dev/null
fi
# Debian's 6.12 kernels come from bookworm-security: stale package lists do not offer them
if [ "$(id -u)" = 0 ] && command -v apt-cache >/dev/null 2>&1 \
        && ! apt-cache search --names-only '^linux-image-6\.12.*-cloud-amd64-unsigned$' | grep -q .; then
    apt-get update -qq >/dev/null || true
fi

# lint and types first: cheap, and a failure says exactly where
python3 -m ruff check .
python3 -m mypy hugelab

exec python3 -m pytest tests notebooks --nbval --nbval-current-env -p no:cacheprovider "$@"
