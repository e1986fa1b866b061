# Sourced by scripts/notebooks.sh, scripts/test.sh and scripts/site.sh (bash).
#
# The checkout's own virtual environment, .venv: nothing goes into the system Python (Debian's
# and Ubuntu's are "externally managed", PEP 668, and pip refuses them), and a clone's
# environment is its own: hugelab is installed editable from this checkout into this checkout's
# .venv only, so another clone never takes over `hugelab` or the notebook kernels.
#
# hugelab_venv EXTRA: make .venv with the first python3 on PATH (once), install hugelab[EXTRA]
# editable into it (again only when pyproject.toml changed), and put .venv/bin first on PATH.
# Quiet when it works; on a failure pip's whole output is shown.

# apt's locks: dpkg's (install) and the package lists' (update). A fresh Debian machine's
# updater (unattended-upgrades, apt-daily) often holds them for minutes after boot.
HUGELAB_APT_LOCKS=${HUGELAB_APT_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock}

# The process holding one of apt's locks ("pid 1234 (unattended-upgr)"), or nothing. Read from
# /proc/locks (dpkg and apt lock with fcntl): nothing is locked or changed to find out.
hugelab_apt_lock_holder() {
    local lock id pid
    for lock in $HUGELAB_APT_LOCKS; do
        # the file as /proc/locks names it: major:minor (hex, two digits each):inode
        id=$(stat -c '%D %i' "$lock" 2>/dev/null) || continue
        id=$(set -- $id; dev=$((0x$1)); printf '%02x:%02x:%s' $(((dev >> 8) & 0xfff)) \
            $(((dev & 0xff) | ((dev >> 12) & 0xfff00))) "$2")
        pid=$(awk -v id="$id" '$2 != "->" && $6 == id {print $5; exit}' /proc/locks 2>/dev/null)
        if [ -n "$pid" ]; then
            echo "pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo gone)) holds $lock"
            return 0
        fi
    done
}

# Wait until nobody holds apt's locks, at most HUGELAB_APT_WAIT seconds (default 600), saying
# once what it waits for; 1 (and what to do, in one line) if they are still held then.
hugelab_apt_wait() {
    local wait=${HUGELAB_APT_WAIT:-600} holder said="" start=$SECONDS
    while holder=$(hugelab_apt_lock_holder) && [ -n "$holder" ]; do
        if [ $((SECONDS - start)) -ge "$wait" ]; then
            echo "hugelab: apt is still busy after ${wait} s ($holder): let it finish (or stop it), then run this again" >&2
            return 1
        fi
        if [ -z "$said" ]; then
            echo "hugelab: apt is busy ($holder; a fresh machine's updater often is): waiting up to ${wait} s" >&2
            said=1
        fi
        sleep 1
    done
}

# apt-get, once apt's locks are free (and apt itself waits for them as long, should another
# apt start in between); quiet when it works.
hugelab_apt_get() {
    hugelab_apt_wait || return 1
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="${HUGELAB_APT_WAIT:-600}" -qq "$@" >/dev/null
}

hugelab_venv() {
    local extra=$1 venv=.venv
    if ! "$venv/bin/python" -c '' 2>/dev/null; then
        if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
            # Debian and Ubuntu ship venv's pip bootstrap (ensurepip) apart: python3-venv.
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
                echo "hugelab: installing python3-venv with apt, to make .venv"
                hugelab_apt_get update && hugelab_apt_get install -y python3-venv
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
