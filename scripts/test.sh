#!/usr/bin/env bash
# Install everything the tests need into this checkout's .venv (scripts/venv.sh), and Debian's
# chromium as root, then run every test: lint (ruff), types (mypy), unit, property, CLI, widgets,
# real kernel (as root), notebooks (nbval), browser, and the install tests (fresh clone, wheel,
# static site).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
hugelab_venv test

# Debian's chromium for the browser tests (never `playwright install`: it downloads a browser),
# and poppler (pdftotext, pdftoppm) to read back what `hugelab print` makes.
if ! { command -v chromium && command -v pdftoppm; } >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
        && command -v apt-get >/dev/null 2>&1; then
    echo "hugelab: installing Debian's chromium and poppler-utils with apt, for the browser and print tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null
fi

# JupyterHub's proxy (npm's configurable-http-proxy) for the hub test (tests/test_hub.py)
if ! command -v configurable-http-proxy >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v npm >/dev/null 2>&1; then
    echo "hugelab: installing configurable-http-proxy with npm, for the JupyterHub test"
    npm install -g --silent configurable-http-proxy >/dev/null 2>&1 || echo "hugelab: npm could not install configurable-http-proxy: the hub test will skip"
fi

# QEMU and static busybox for the guest-kernel tests (Linux 6.1 and 6.12 in throw-away guests;
# the kernels themselves are fetched with apt-get download on first use, into ~/.cache/hugelab).
if ! { command -v qemu-system-x86_64 && command -v busybox; } >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
        && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends qemu-system-x86 busybox-static cpio >/dev/null
fi
# gpgv and Debian's archive keyring check the signed index of every suite hugelab fetches kernels
# from itself (hugelab/realkernel/signed_index.py): without them those suites are not believed.
if ! { command -v gpgv >/dev/null 2>&1 && [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; } \
        && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends gpgv debian-archive-keyring >/dev/null
fi
# Debian's 6.12 kernels come from bookworm-security: stale package lists do not offer them
if [ "$(id -u)" = 0 ] && command -v apt-cache >/dev/null 2>&1 \
        && ! apt-cache search --names-only '^linux-image-6\.12.*-cloud-amd64-unsigned$' | grep -q .; then
    apt-get update -qq >/dev/null || true
fi

# lint and types first: cheap, and a failure says exactly where
python -m ruff check .
python -m mypy hugelab

exec python -m pytest tests notebooks --nbval --nbval-current-env -p no:cacheprovider "$@"
