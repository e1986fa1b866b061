# Sourced by scripts/notebooks.sh and scripts/test.sh (bash).
#
# The checkout's own virtual environment, .venv: nothing goes into the system Python (Debian's
# and Ubuntu's are "externally managed", PEP 668, and pip refuses them), and a clone's
# environment is its own: hugelab is installed editable from this checkout into this checkout's
# .venv only, so another clone never takes over `hugelab` or the notebook kernels.
#
# hugelab_venv EXTRA: make .venv with the first python3 on PATH (once), install hugelab[EXTRA]
# editable into it (again only when pyproject.toml changed), and put .venv/bin first on PATH.
# Quiet when it works; on a failure pip's whole output is shown.

hugelab_venv() {
    local extra=$1 venv=.venv
    if ! "$venv/bin/python" -c '' 2>/dev/null; then
        if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
            # Debian and Ubuntu ship venv's pip bootstrap (ensurepip) apart: python3-venv.
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
                echo "hugelab: installing python3-venv with apt, to make .venv"
                apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            else
                echo "hugelab: $(command -v python3 || echo python3) cannot make a virtual environment: install python3-venv (sudo apt-get install python3-venv), then run this again" >&2
                exit 1
            fi
        fi
        rm -rf "$venv"
        echo "hugelab: making .venv with $(command -v python3) ($(python3 -c 'import platform; print(platform.python_version())'))"
        python3 -m venv "$venv"
    fi
    # Reinstall only when what pip would install changed (hugelab itself is editable).
    local stamp="$venv/.hugelab-$extra" want
    want=$("$venv/bin/python" -c 'import hashlib, pathlib, sys
print(hashlib.sha256(b"".join(p.read_bytes() for p in map(pathlib.Path, sys.argv[1:]) if p.exists())).hexdigest())' \
        pyproject.toml setup.py MANIFEST.in)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "hugelab: installing hugelab[$extra] into .venv (log: .venv/pip.log)"
        if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -e ".[$extra]" \
                >"$venv/pip.log" 2>&1; then
            cat "$venv/pip.log" >&2
            echo "hugelab: installing into .venv failed (pip's output above, also in .venv/pip.log)" >&2
            exit 1
        fi
        echo "$want" >"$stamp"
    fi
    export VIRTUAL_ENV="$PWD/$venv"
    export PATH="$VIRTUAL_ENV/bin:$PATH"
    hash -r
}
