"""Red team, kernel downloads and the kernel cache: a hostile mirror, a hostile index, a planted cache.

The mirror is a local HTTP server serving what an attacker on the wire would: an unsigned index,
one signed by some other key, a Packages.xz that unpacks without end, an old index replayed. The
index may also name releases with path characters. The cache is planted by ``nobody`` (root
only) or left open to everyone. Nothing here touches the network or boots a guest.
"""

import hashlib
import http.server
import lzma
import os
import shutil
import subprocess
import tempfile
import threading
import time
from email.utils import formatdate
from pathlib import Path

import pytest
from bounded import NOBODY, as_user, can_switch_user

from hugelab.realkernel import images, initramfs, signed_index
from hugelab.realkernel.images import ImageUnavailable

needs_root = pytest.mark.skipif(can_switch_user() is not None, reason=f"{can_switch_user()}")
needs_gpg = pytest.mark.skipif(not (shutil.which("gpg") and shutil.which("gpgv")),
                               reason="needs gpg (to sign a test index) and gpgv")
SUITE = "testing-backports"
RELEASE = "6.99.1+deb13-cloud-amd64"
PACKAGES = f"""Package: linux-image-{RELEASE}
Version: 6.99.1-1~bpo13+1
Size: 1000
Filename: pool/main/l/linux-signed-amd64/linux-image-{RELEASE}_6.99.1-1_amd64.deb
SHA256: {"ab" * 32}

"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    home = tmp_path / "cache"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    """A throw-away signing key (gpg's home) and a keyring holding only it."""
    if not (shutil.which("gpg") and shutil.which("gpgv")):
        pytest.skip("needs gpg and gpgv")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = dict(os.environ, GNUPGHOME=str(home))
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "hugelab test <test@invalid>",
                    "ed25519", "sign", "never"], env=env, check=True, capture_output=True)
    keyring = home / "test-keyring.gpg"
    keyring.write_bytes(subprocess.run(["gpg", "--export"], env=env, check=True, capture_output=True).stdout)
    yield env, keyring
    subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)


class Mirror:
    """A local HTTP server with one suite's dists/ folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **k)  # noqa: E731
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None  # type: ignore[method-assign]
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def publish(self, inrelease: bytes, xz: bytes) -> None:
        dists = self.root / "dists" / SUITE
        (dists / "main" / "binary-amd64").mkdir(parents=True, exist_ok=True)
        (dists / "InRelease").write_bytes(inrelease)
        (dists / "main" / "binary-amd64" / "Packages.xz").write_bytes(xz)


@pytest.fixture
def mirror(tmp_path):
    served = Mirror(tmp_path / "mirror")
    yield served
    served.server.shutdown()
    served.server.server_close()


def release_text(packages: bytes, xz: bytes, suite: str = SUITE, valid_for: float = 7 * 86400) -> bytes:
    until = formatdate(time.time() + valid_for, usegmt=True)
    lines = [f"Codename: {suite}", f"Valid-Until: {until}", "SHA256:"]
    for data, name in ((packages, "Packages"), (xz, "Packages.xz")):
        lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data):>8} main/binary-amd64/{name}")
    return ("\n".join(lines) + "\n").encode()


def clearsign(key, text: bytes) -> bytes:
    env, _ = key
    return subprocess.run(["gpg", "--batch", "--clearsign"], input=text, env=env, check=True,
                          capture_output=True).stdout


def good_index(key, packages: str = PACKAGES, **release) -> tuple[bytes, bytes]:
    data = packages.encode()
    xz = lzma.compress(data)
    return clearsign(key, release_text(data, xz, **release)), xz


# -- the signed index --------------------------------------------------------------------------
def test_an_unsigned_index_is_refused(mirror, cache):
    data = PACKAGES.encode()
    xz = lzma.compress(data)
    mirror.publish(release_text(data, xz), xz)
    with pytest.raises(ImageUnavailable, match="not signed by a key of Debian's archive keyring"):
        images.suite_index(mirror.url, SUITE)


@needs_gpg
def test_an_index_signed_by_another_key_is_refused(mirror, cache, key):
    mirror.publish(*good_index(key))  # a good signature, by a key Debian's keyring does not hold
    with pytest.raises(ImageUnavailable, match="not signed by a key of Debian's archive keyring"):
        images.suite_index(mirror.url, SUITE)


@needs_gpg
def test_an_index_signed_by_the_trusted_key_is_read_and_cached_privately(mirror, cache, key, monkeypatch):
    monkeypatch.setattr(signed_index, "KEYRING", key[1], raising=False)  # the test key as the archive's
    mirror.publish(*good_index(key))
    old = os.umask(0)  # root's own umask 000 must not leave the cache open to everyone
    try:
        found = images.suite_index(mirror.url, SUITE)
    finally:
        os.umask(old)
    assert list(found) == [RELEASE] and found[RELEASE].sha256 == "ab" * 32
    for path in (cache / "hugelab", cache / "hugelab" / "kernels", cache / "hugelab" / "kernels" / f"{SUITE}.Packages"):
        assert path.stat().st_mode & 0o022 == 0, (path, oct(path.stat().st_mode))
    mirror.server.shutdown()  # unreachable now: the cached copy is checked again and used
    assert images.suite_index(mirror.url, SUITE) == found


@needs_gpg
@pytest.mark.parametrize("attack, says", [
    ("packages", "does not match the size and SHA-256 of its signed InRelease"),
    ("bomb", "unpacks to more than"),
    ("expired", "expired on"),
    ("other suite", "is bookworm-backports's"),
])
def test_a_signed_index_is_believed_only_for_what_it_signed(mirror, cache, key, monkeypatch, attack, says):
    monkeypatch.setattr(signed_index, "KEYRING", key[1], raising=False)
    data = PACKAGES.encode()
    xz = lzma.compress(data)
    inrelease = clearsign(key, release_text(data, xz))
    if attack == "packages":  # another Packages.xz than the one signed
        xz = lzma.compress(data.replace(b"ab", b"cd"))
    elif attack == "bomb":  # signed as it is, but it unpacks to 100 MB where the index says 1 KB
        xz = lzma.compress(b"\0" * (100 << 20))
        inrelease = clearsign(key, release_text(data, xz))
    elif attack == "expired":  # an old index, replayed
        inrelease = clearsign(key, release_text(data, xz, valid_for=-86400))
    elif attack == "other suite":  # a genuine index of another suite
        inrelease = clearsign(key, release_text(data, xz, suite="bookworm-backports"))
    mirror.publish(inrelease, xz)
    with pytest.raises(ImageUnavailable, match=says):
        images.suite_index(mirror.url, SUITE)


def test_a_release_name_with_path_characters_is_never_a_release(cache):
    hostile = PACKAGES.replace(RELEASE, "6.1/../../../../etc/x-cloud-amd64") + PACKAGES.replace(
        RELEASE, "6.1.0 x-cloud-amd64") + PACKAGES.replace(RELEASE, "6.1.0-1\\x-cloud-amd64")
    assert images.parse_index(hostile) == {}
    for spec in ("6.12;rm -rf", "6.1.0-1..-cloud-amd64\n", "6.1\\x"):
        with pytest.raises(ImageUnavailable):
            images.resolve(spec, fetch_missing=False)


# -- the cache ---------------------------------------------------------------------------------
def plant(root: Path) -> Path:
    kernels = root / "hugelab" / "kernels"
    kernels.mkdir(parents=True)
    for folder in (root / "hugelab", kernels):
        folder.chmod(0o777)
    fake = kernels / "vmlinuz-6.12.999+deb12-cloud-amd64"
    fake.write_bytes(b"not a kernel")
    fake.chmod(0o666)
    return fake


def test_a_cache_others_may_write_is_refused(cache):
    plant(cache)
    with pytest.raises(ImageUnavailable, match="can be written by other users"):
        images.resolve("6.12", fetch_missing=False)


@needs_root
def test_a_cache_planted_by_nobody_with_umask_000_is_refused(monkeypatch):
    """The issue's attack: nobody plants a newer 6.12 that root would boot."""
    shared = Path(tempfile.mkdtemp(prefix="hugelab-redteam-", dir="/tmp"))
    try:
        shared.chmod(0o1777)
        plant_it = ("umask 000 && mkdir -p cache/hugelab/kernels cache/hugelab/lean && "
                    "printf fake > cache/hugelab/kernels/vmlinuz-6.12.999+deb12-cloud-amd64")
        done = subprocess.run(as_user(NOBODY, ["sh", "-c", plant_it]), cwd=shared, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        monkeypatch.setenv("XDG_CACHE_HOME", str(shared / "cache"))
        with pytest.raises(ImageUnavailable, match=f"belongs to uid {NOBODY}") as refused:
            images.resolve("6.12", fetch_missing=False)
        assert "\n" not in str(refused.value)
    finally:
        subprocess.run(["rm", "-rf", str(shared)], check=False)


@needs_root
def test_stripped_libraries_planted_by_nobody_never_go_into_a_guest(tmp_path, monkeypatch):
    if not shutil.which("strip"):
        pytest.skip("needs strip")
    big = tmp_path / "libbig.so"
    big.write_bytes(b"\0" * (2 << 20))
    info = big.stat()
    shared = Path(tempfile.mkdtemp(prefix="hugelab-redteam-", dir="/tmp"))
    try:
        shared.chmod(0o1777)
        name = f"libbig.so-{info.st_size}-{info.st_mtime_ns}"
        plant_it = f"umask 000 && mkdir -p cache/hugelab/lean && printf evil > cache/hugelab/lean/{name}"
        done = subprocess.run(as_user(NOBODY, ["sh", "-c", plant_it]), cwd=shared, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        monkeypatch.setenv("XDG_CACHE_HOME", str(shared / "cache"))
        with pytest.raises(initramfs.InitramfsError, match=f"belongs to uid {NOBODY}"):
            initramfs._lean(str(big))
    finally:
        subprocess.run(["rm", "-rf", str(shared)], check=False)
