#!/usr/bin/env bash
# Install everything the tests need into this checkout's .venv (scripts/venv.sh), and, as root,
# Debian's chromium, poppler, QEMU, busybox, gpgv and the archive keyring with apt (npm's
# configurable-http-proxy for the hub test), then run every test: lint (ruff), types (mypy),
# unit, property, CLI, widgets, real kernel (as root), guest kernels, notebooks (nbval), browser,
# and the install tests (fresh clone, wheel, static site).
#
#   bash scripts/test.sh [PYTEST ARGS]    everything (as root about 15 minutes; more under load)
#   bash scripts/test.sh --quick [ARGS]   lint, types and the quick subset (tests/README.md): no
#                                         kernel, guest, browser, server or install test; never
#                                         touches the kernel's pool; installs nothing with apt
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
quick=""
if [ "${1:-}" = "--quick" ]; then
    quick=1
    shift
fi
hugelab_venv test

if [ -z "$quick" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # Debian's chromium for the browser tests (never `playwright install`: it downloads a browser),
    # and poppler (pdftotext, pdftoppm) to read back what `hugelab print` makes.
    if ! { command -v chromium && command -v pdftoppm; } >/dev/null 2>&1; then
        echo "hugelab: installing Debian's chromium and poppler-utils with apt, for the browser and print tests"
        hugelab_apt_get update && hugelab_apt_get install -y chromium poppler-utils
    fi
    # QEMU and static busybox for the guest-kernel tests (Linux 6.1 and 6.12 in throw-away guests;
    # the kernels themselves are fetched with apt-get download on first use, into ~/.cache/hugelab).
    if ! { command -v qemu-system-x86_64 && command -v busybox; } >/dev/null 2>&1; then
        echo "hugelab: installing qemu-system-x86, busybox-static and cpio with apt, for the guest-kernel tests"
        hugelab_apt_get update && hugelab_apt_get install -y --no-install-recommends qemu-system-x86 busybox-static cpio
    fi
    # gpgv and Debian's archive keyring check the signed index of every suite hugelab fetches kernels
    # from itself (hugelab/realkernel/signed_index.py): without them those suites are not believed.
    if ! { command -v gpgv >/dev/null 2>&1 && [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; }; then
        hugelab_apt_get update && hugelab_apt_get install -y --no-install-recommends gpgv debian-archive-keyring
    fi
    # Debian's 6.12 kernels come from bookworm-security: stale package lists do not offer them
    if ! apt-cache search --names-only '^linux-image-6\.12.*-cloud-amd64-unsigned$' | grep -q .; then
        hugelab_apt_get update || true
    fi
fi

# JupyterHub's proxy (npm's configurable-http-proxy) for the hub test (tests/test_hub.py)
if [ -z "$quick" ] && ! command -v configurable-http-proxy >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
        && command -v npm >/dev/null 2>&1; then
    echo "hugelab: installing configurable-http-proxy with npm, for the JupyterHub test"
    npm install -g --silent configurable-http-proxy >/dev/null 2>&1 || echo "hugelab: npm could not install configurable-http-proxy: the hub test will skip"
fi

# lint and types first: cheap, and a failure says exactly where
python -m ruff check .
python -m mypy hugelab

if [ -n "$quick" ]; then
    exec python -m pytest tests --quick -p no:cacheprovider "$@"
fi
exec python -m pytest tests notebooks --nbval --nbval-current-env -p no:cacheprovider "$@"
