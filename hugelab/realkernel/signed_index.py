"""A Debian suite's package index, believed only as far as Debian's archive key vouches for it.

The kernel packages come over plain HTTP and ``dpkg-deb`` parses them as root, so nothing of a
suite is taken on the mirror's word, as ``apt`` does it:

* the suite's ``InRelease`` must carry a good signature by a key in Debian's archive keyring
  (:data:`KEYRING`, the ``debian-archive-keyring`` package), checked by ``gpgv``; only the
  signed text is read (``gpgv --output``), never what surrounds it;
* it must name the suite asked for (``Codename``) and, when downloaded, not be past its
  ``Valid-Until`` (a mirror replaying an old index);
* ``Packages.xz`` must have the size and SHA-256 the signed text gives it, and unpack to exactly
  the size and SHA-256 it gives ``Packages``: decompression stops there, so an xz bomb costs
  nothing; a package's SHA-256 is then taken from that checked ``Packages`` only.

Every limit is below, with its reason; past one, :class:`UnverifiedIndex` says so in one line.
"""

from __future__ import annotations

import email.utils
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

#: Debian's archive keys (``debian-archive-keyring``): the keys apt itself trusts for Debian
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
#: an InRelease is about 75 KB (bullseye's, which lists the most files)
MAX_INRELEASE_BYTES = 4 << 20
#: the largest Packages index read (bullseye's main/amd64 is 45 MB unpacked, 8 MB as .xz)
MAX_PACKAGES_BYTES = 128 << 20
PACKAGES = "main/binary-amd64/Packages"
INSTALL = "apt-get install gpgv debian-archive-keyring"


class UnverifiedIndex(RuntimeError):
    """A suite's index that cannot be checked, or fails a check; one line says which."""


def why_unverifiable() -> str | None:
    """None if indexes can be checked here, else what is missing (and how to install it)."""
    if not shutil.which("gpgv"):
        return f"checking Debian's signed index needs gpgv ({INSTALL})"
    if not KEYRING.is_file():
        return f"checking Debian's signed index needs {KEYRING} ({INSTALL})"
    return None


def signed_text(inrelease: bytes, suite: str) -> str:
    """The text of ``inrelease`` that a Debian archive key signed; UnverifiedIndex otherwise."""
    reason = why_unverifiable()
    if reason:
        raise UnverifiedIndex(reason)
    # --status-fd 2: the machine-readable verdict on stderr; --output -: only the signed text on stdout
    try:
        done = subprocess.run(["gpgv", "--status-fd", "2", "--keyring", str(KEYRING), "--output", "-", "-"],
                              input=inrelease, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UnverifiedIndex(f"gpgv could not check {suite}'s InRelease: {e}") from None
    status = [line.split()[1] for line in done.stderr.decode(errors="replace").splitlines()
              if line.startswith("[GNUPG:] ") and len(line.split()) > 1]
    # as apt: one good signature by a key of the keyring, and no bad one (a key the keyring
    # lacks, such as a newer release's, is not a bad signature)
    if "VALIDSIG" not in status or "BADSIG" in status:
        raise UnverifiedIndex(f"{suite}'s InRelease is not signed by a key of Debian's archive keyring ({KEYRING})")
    return done.stdout.decode("utf-8", "replace")


@dataclass(frozen=True)
class Release:
    """What a suite's signed InRelease says: its name, how long it holds, its files' sizes and hashes."""

    codename: str
    valid_until: float | None
    files: dict[str, tuple[str, int]]  # path -> (sha256, size)


def parse_release(text: str) -> Release:
    """The fields of a (verified) InRelease text this module needs."""
    codename, valid_until, files = "", None, {}
    section = ""
    for line in text.splitlines():
        if line[:1] in (" ", "\t"):
            words = line.split()
            if section == "SHA256" and len(words) == 3 and words[1].isdigit():
                files[words[2]] = (words[0].lower(), int(words[1]))
            continue
        name, _, value = line.partition(":")
        section = name
        if name == "Codename":
            codename = value.strip()
        elif name == "Valid-Until":
            parsed = email.utils.parsedate_to_datetime(value.strip()) if value.strip() else None
            valid_until = parsed.timestamp() if parsed else None
    return Release(codename, valid_until, files)


def check_release(release: Release, suite: str, fresh: bool, now: float | None = None) -> None:
    """UnverifiedIndex unless ``release`` is ``suite``'s, still valid if ``fresh``, and lists Packages."""
    if release.codename != suite:
        raise UnverifiedIndex(f"the InRelease fetched for {suite} is {release.codename or 'unnamed'}'s")
    now = time.time() if now is None else now
    if fresh and release.valid_until is not None and release.valid_until < now:
        day = time.strftime("%Y-%m-%d", time.gmtime(release.valid_until))
        raise UnverifiedIndex(f"{suite}'s InRelease expired on {day}: the mirror serves an old index")
    for name in (PACKAGES, PACKAGES + ".xz"):
        if name not in release.files:
            raise UnverifiedIndex(f"{suite}'s InRelease gives no SHA-256 of {name}")
        if release.files[name][1] > MAX_PACKAGES_BYTES:
            raise UnverifiedIndex(f"{suite}'s {name} is {release.files[name][1]:,} bytes, more than hugelab's limit "
                                  f"of {MAX_PACKAGES_BYTES:,}")


def checked(data: bytes, name: str, release: Release, suite: str) -> bytes:
    """``data`` if it has the size and SHA-256 ``release`` gives ``name``; UnverifiedIndex otherwise."""
    sha256, size = release.files[name]
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise UnverifiedIndex(f"{suite}'s {name} does not match the size and SHA-256 of its signed InRelease")
    return data


def unpack(xz: bytes, release: Release, suite: str) -> bytes:
    """``Packages.xz`` unpacked, never past the size the signed InRelease gives ``Packages``."""
    size = release.files[PACKAGES][1]
    try:
        unpacker = lzma.LZMADecompressor()
        data = unpacker.decompress(xz, max_length=size + 1)
    except lzma.LZMAError as e:
        raise UnverifiedIndex(f"{suite}'s {PACKAGES}.xz cannot be unpacked: {e}") from None
    if len(data) > size or not unpacker.eof:
        raise UnverifiedIndex(f"{suite}'s {PACKAGES}.xz unpacks to more than the {size:,} bytes its InRelease says")
    return checked(data, PACKAGES, release, suite)


def _get(url: str, limit: int) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as answer:
        data = answer.read(limit + 1)
    if len(data) > limit:
        raise UnverifiedIndex(f"{url} is larger than the {limit:,} bytes expected")
    return data


def download(mirror: str, suite: str) -> tuple[bytes, bytes]:
    """(InRelease, Packages) of ``suite`` from ``mirror``, both checked. OSError if unreachable."""
    base = f"{mirror}/dists/{suite}"
    inrelease = _get(f"{base}/InRelease", MAX_INRELEASE_BYTES)
    release = parse_release(signed_text(inrelease, suite))
    check_release(release, suite, fresh=True)
    xz = checked(_get(f"{base}/{PACKAGES}.xz", release.files[PACKAGES + ".xz"][1]), PACKAGES + ".xz", release, suite)
    return inrelease, unpack(xz, release, suite)


def recheck(inrelease: bytes, packages: bytes, suite: str) -> bytes:
    """``packages`` as cached, checked again against the cached, signed ``inrelease``."""
    release = parse_release(signed_text(inrelease, suite))
    check_release(release, suite, fresh=False)
    return checked(packages, PACKAGES, release, suite)


_SAFE_SUITE = re.compile(r"[a-z][a-z0-9-]*")


def safe_suite(suite: str) -> str:
    """``suite`` if it can name a file in the cache (no path characters), else UnverifiedIndex."""
    if not _SAFE_SUITE.fullmatch(suite) or os.sep in suite:
        raise UnverifiedIndex(f"{suite!r} is not a suite name")
    return suite
