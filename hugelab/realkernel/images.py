"""Other Linux kernels to boot in QEMU guests: Debian's cloud kernel images, fetched and cached.

A kernel is named by a *spec*: a series (``6.1``, ``6.12``: the newest
release of that series, cached or fetchable), a full release name
(``6.1.0-56-cloud-amd64``, ``6.12.117+deb12-cloud-amd64``), or the path of
a kernel image (``bzImage``/``vmlinuz``) to boot as it is.

Fetching uses Debian's own tools: ``apt-cache search`` for the releases on
offer and ``apt-get download`` for the package (``linux-image-REL-unsigned``).
Releases the machine's apt does not offer come from the package indexes of
:data:`SUITES` (bullseye's 5.10, bookworm-backports' 6.12, trixie-backports'
6.16 to 7.3) on Debian's mirrors, each package checked against its index's
SHA-256, with no change to the machine's apt sources: an index is believed only once its suite's
``InRelease`` is signed by Debian's archive keyring and ``Packages`` matches it
(:mod:`hugelab.realkernel.signed_index`). Only the kernel image is
unpacked (``./boot/vmlinuz-REL`` or ``./usr/lib/modules/REL/vmlinuz``; from 6.19.6
on ``linux-image-REL`` is a metapackage and ``linux-binary-REL`` holds it), into the cache
(``$XDG_CACHE_HOME/hugelab/kernels``, else ``~/.cache/hugelab/kernels``);
nothing is installed and the host's ``/boot`` is never touched. Debian drops
old ABI numbers, so a series means the newest release, never a pinned one.

The cache is booted from and shipped into guests (stripped libraries, ``../lean``), so it must be
its user's: every folder and file in it belongs to the user hugelab runs as and is writable by no
one else, or it is refused in one line (:mod:`hugelab.ownfiles`). A release name is letters,
digits and ``. + -`` only (Debian's package name characters): a name from an index can never
reach outside the cache.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..limits import echo
from ..ownfiles import Folder, UnsafePath, check_ancestors, check_owned
from .signed_index import MAX_INRELEASE_BYTES, MAX_PACKAGES_BYTES, UnverifiedIndex, download, recheck, safe_suite

#: Debian's cloud flavour: HUGETLBFS built in, boots without modules
FLAVOUR = "cloud-amd64"
#: a release name: Debian's package name characters only, so never a path (no /, no ..)
RELEASE = re.compile(r"\d+\.\d+[.+-][0-9a-z.+-]*-" + FLAVOUR)
_PACKAGE = re.compile(r"^linux-image-(" + RELEASE.pattern + r")-unsigned$")


#: where series newer than the machine's own apt offers come from
BACKPORTS_MIRROR = "http://deb.debian.org/debian"
BACKPORTS_SUITE = "trixie-backports"
#: every suite whose index hugelab reads itself (mirror, suite): what docs/findings.md §5 found reachable
SUITES = ((BACKPORTS_MIRROR, "bullseye"), ("http://security.debian.org/debian-security", "bullseye-security"),
          (BACKPORTS_MIRROR, "bookworm-backports"), (BACKPORTS_MIRROR, BACKPORTS_SUITE))
#: an image package (signed or not; from 6.19.6 on only a metapackage) or the binary package holding the image
_INDEXED_PACKAGE = re.compile(r"^linux-(image|binary)-(" + RELEASE.pattern + r")(-unsigned)?$")
#: the suite's index is fetched again after a day
_INDEX_MAX_AGE = 24 * 3600
#: no kernel package is near this; a bigger download is refused, not stored
_MAX_DEB_BYTES = 256 << 20
#: a cloud kernel image is about 12 MB; a bigger member is not unpacked
_MAX_IMAGE_BYTES = 64 << 20
#: the most a package's file tree may unpack to before the image is found (the largest cloud
#: package, with its modules, is about 200 MB unpacked): an xz bomb stops here
_MAX_TREE_BYTES = 1 << 30


class ImageUnavailable(RuntimeError):
    """No kernel image for a spec here; the message says why in one line."""


@dataclass(frozen=True)
class KernelImage:
    """A kernel image to boot: its release name and where the file is."""

    release: str
    path: Path

    @property
    def series(self) -> str:
        return series_of(self.release)


def series_of(release: str) -> str:
    """``6.12`` for ``6.12.117+deb12-cloud-amd64``; '' when the name has no version."""
    m = re.match(r"(\d+)\.(\d+)", release)
    return f"{m.group(1)}.{m.group(2)}" if m else ""


def release_key(release: str) -> tuple[int, ...]:
    """Sort key: the numbers in the name, in order (6.1.0-56 after 6.1.0-9)."""
    return tuple(int(n) for n in re.findall(r"\d+", release.split("-" + FLAVOUR)[0]))


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hugelab" / "kernels"


def cache_folder(name: str = "kernels", create: bool = True) -> Folder | None:
    """The cache's folder ``name`` (``kernels``, ``lean``), checked; None if missing and not ``create``.

    ImageUnavailable (one line) if it, or ``hugelab/`` above it, is another user's or writable by
    others, or if a folder above could let another user swap it.
    """
    top = cache_dir().parent
    try:
        if not create and not os.path.lexists(top / name):
            return None
        if create:
            os.makedirs(top.parent, mode=0o700, exist_ok=True)
        check_ancestors(top)
        with Folder.open(top, create=create) as hugelab:
            return hugelab.sub(name, create=create)
    except UnsafePath as e:
        raise ImageUnavailable(f"the kernel cache: {e}") from None
    except OSError as e:
        raise ImageUnavailable(f"the kernel cache {top}: {e.strerror or e}") from None


def own_file(folder: Folder, name: str) -> Path | None:
    """``name`` in the cache folder, if it is there; ImageUnavailable unless a regular file of ours."""
    info = folder.lstat(name)
    if info is None:
        return None
    path = folder.path / name
    if not stat.S_ISREG(info.st_mode):
        raise ImageUnavailable(f"the kernel cache: {path} is not a regular file; remove it")
    try:
        check_owned(info, path)
    except UnsafePath as e:
        raise ImageUnavailable(f"the kernel cache: {e}") from None
    return path


def cached() -> list[KernelImage]:
    """The kernel images in the cache, oldest release first (each checked: ours, writable by us only)."""
    folder = cache_folder(create=False)
    if folder is None:
        return []
    with folder:
        found = []
        for name in sorted(os.listdir(folder.fd)):
            release = name[len("vmlinuz-"):]
            if name.startswith("vmlinuz-") and RELEASE.fullmatch(release):
                path = own_file(folder, name)
                if path is not None:
                    found.append(KernelImage(release, path))
    return sorted(found, key=lambda k: release_key(k.release))


def fetchable(from_apt: list[str] | None = None) -> list[str]:
    """Release names on offer in the cloud flavour: the machine's apt, then the backports suite.

    ``from_apt``: what :func:`apt_releases` gave, when the caller already asked apt (None: ask it).
    """
    return sorted(set(apt_releases() if from_apt is None else from_apt) | set(backports_index()), key=release_key)


def apt_releases() -> list[str]:
    """Release names Debian's package lists offer in the cloud flavour (none without apt)."""
    if not shutil.which("apt-cache"):
        return []
    result = subprocess.run(["apt-cache", "search", "--names-only", f"^linux-image-.*-{FLAVOUR}-unsigned$"],
                            capture_output=True, text=True, check=False)
    releases = []
    for line in result.stdout.splitlines():
        m = _PACKAGE.match(line.split(" - ", 1)[0].strip())
        if m:
            releases.append(m.group(1))
    return sorted(set(releases), key=release_key)


def apt_upstream(release: str) -> str:
    """The upstream release behind an apt package's ABI name (``6.1.0-57-cloud-amd64``: ``6.1.192``), or ''."""
    if not shutil.which("apt-cache"):
        return ""
    result = subprocess.run(["apt-cache", "show", "--no-all-versions", f"linux-image-{release}-unsigned"],
                            capture_output=True, text=True, check=False)
    m = re.search(r"^Version: (\d+\.\d+\.\d+)", result.stdout, re.M)
    return m.group(1) if m else ""


@dataclass(frozen=True)
class IndexedPackage:
    """A kernel package in the backports suite's index: where it is and its SHA-256."""

    release: str
    filename: str
    sha256: str
    size: int
    #: ``binary`` (6.19.6 on: the package that holds the image) or ``image``
    kind: str = "image"
    mirror: str = BACKPORTS_MIRROR
    suite: str = BACKPORTS_SUITE
    #: Debian's version of the package: the upstream release behind an ABI name (5.10.0-30 is 5.10.218)
    version: str = ""


def parse_index(text: str, mirror: str = BACKPORTS_MIRROR, suite: str = BACKPORTS_SUITE) -> dict[str, IndexedPackage]:
    """The cloud kernel images in a Debian ``Packages`` index, by release name.

    Where a release has a ``linux-binary-REL`` package (6.19.6 and later), that is the one
    holding the image; its ``linux-image-REL`` is a metapackage.
    """
    found: dict[str, IndexedPackage] = {}
    for stanza in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " ")
        m = _INDEXED_PACKAGE.match(fields.get("Package", ""))
        if m and "Filename" in fields and "SHA256" in fields and fields.get("Size", "").isdigit():
            kind, release = m.group(1), m.group(2)
            if kind == "image" and release in found and found[release].kind == "binary":
                continue  # the binary package already seen holds the image
            found[release] = IndexedPackage(release, fields["Filename"], fields["SHA256"], int(fields["Size"]),
                                            kind, mirror, suite, fields.get("Version", ""))
    return found


def backports_index() -> dict[str, IndexedPackage]:
    """The kernel images of every suite in :data:`SUITES`, the newest suite's winning a release both have."""
    found: dict[str, IndexedPackage] = {}
    for mirror, suite in SUITES:
        found.update(suite_index(mirror, suite))
    return found


def suite_index(mirror: str = BACKPORTS_MIRROR, suite: str = BACKPORTS_SUITE) -> dict[str, IndexedPackage]:
    """One suite's kernel images, from its signed index (cached for a day; empty when the mirror
    cannot be reached and nothing is cached). ImageUnavailable if the index fails a check."""
    try:
        safe_suite(suite)
        folder = cache_folder()
        assert folder is not None
        with folder:
            return parse_index(_checked_packages(folder, mirror, suite).decode("utf-8", "replace"), mirror, suite)
    except (UnverifiedIndex, UnsafePath) as e:
        raise ImageUnavailable(str(e)) from None


def _checked_packages(folder: Folder, mirror: str, suite: str) -> bytes:
    """``suite``'s Packages, checked against its signed InRelease: downloaded when the cached copy
    is missing or a day old, the cached copy (checked again) when the mirror cannot be reached,
    empty when there is neither."""
    signed, packages = f"{suite}.InRelease", f"{suite}.Packages"
    have = own_file(folder, signed) is not None and own_file(folder, packages) is not None
    info = folder.lstat(signed)
    if not have or info is None or time.time() - info.st_mtime > _INDEX_MAX_AGE:
        try:
            inrelease, text = download(mirror, suite)
        except (OSError, http.client.HTTPException):
            if not have:
                return b""
        else:
            folder.write(packages, text)  # the InRelease last: it is what vouches for the Packages
            folder.write(signed, inrelease)
            return text
    return recheck(folder.read(signed, MAX_INRELEASE_BYTES) or b"", folder.read(packages, MAX_PACKAGES_BYTES) or b"",
                   suite)


def _download(package: IndexedPackage, folder: Path) -> Path:
    """The package's .deb in ``folder``, its size and SHA-256 checked against the index."""
    url = f"{package.mirror}/{package.filename}"
    if package.size > _MAX_DEB_BYTES:
        raise ImageUnavailable(f"{url} is {package.size} bytes, more than a kernel package should be")
    target = folder / Path(package.filename).name
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as answer, open(target, "wb") as out:
            for block in iter(lambda: answer.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
                if out.tell() > package.size:
                    break
    except OSError as e:
        raise ImageUnavailable(f"downloading {url} failed: {e}") from None
    if digest.hexdigest() != package.sha256:
        raise ImageUnavailable(f"{url} does not match the SHA-256 of {package.suite}'s index")
    return target


class _Capped(io.RawIOBase):
    """A stream that fails once more than ``limit`` bytes came through it (an xz bomb in a package)."""

    def __init__(self, stream, limit: int, what: str) -> None:
        super().__init__()
        self.stream, self.limit, self.what, self.count = stream, limit, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.stream.readinto(buffer)
        self.count += n or 0
        if self.count > self.limit:
            raise ImageUnavailable(f"{self.what} unpacks to more than {self.limit:,} bytes before its kernel image")
        return n


def _unpack_image(deb: Path, members: tuple[str, ...], tmp: Path) -> Path | None:
    """The first of ``members`` in the package's file tree, written to ``tmp``; None if it has none."""
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    assert tar.stdout is not None
    try:
        with tarfile.open(fileobj=_Capped(tar.stdout, _MAX_TREE_BYTES, deb.name), mode="r|") as archive:
            for entry in archive:
                if entry.name in members and entry.isfile():
                    if entry.size > _MAX_IMAGE_BYTES:
                        raise ImageUnavailable(f"{deb.name}'s {entry.name} is {entry.size:,} bytes, more than a "
                                               "kernel image should be")
                    source = archive.extractfile(entry)
                    assert source is not None
                    part = tmp / "vmlinuz"
                    with open(part, "wb") as out:
                        shutil.copyfileobj(source, out)
                    return part
        return None
    except tarfile.TarError as e:
        raise ImageUnavailable(f"{deb.name} cannot be unpacked: {e}") from None
    finally:
        tar.stdout.close()  # what is left is not read: dpkg-deb is stopped, not drained
        if tar.poll() is None:
            tar.kill()
        tar.wait()


def fetch(release: str, from_apt: bool | None = None) -> KernelImage:
    """``release``'s kernel image in the cache: the one there (apt is not asked), else fetched.

    ``from_apt``: whether the machine's apt offers ``release``, when the caller already asked it
    (None: ask ``apt-cache``, once, and only if the image is not cached); else its package comes
    from Debian's signed suite indexes. The cache is checked either way (:func:`cache_folder`,
    :func:`own_file`): a folder or image that is not ours alone is refused, never booted.
    """
    if not RELEASE.fullmatch(release):
        raise ImageUnavailable(f"{echo(release)} is not a {FLAVOUR} kernel release name")
    name = f"vmlinuz-{release}"
    folder = cache_folder()
    assert folder is not None
    with folder:
        target = own_file(folder, name) or _fetch_into(folder, release, name, from_apt)
    return KernelImage(release, target)


def _fetch_into(folder: Folder, release: str, name: str, from_apt: bool | None) -> Path:
    """Download ``release``'s package, unpack only its kernel image into the cache ``folder`` as ``name``."""
    if not shutil.which("dpkg-deb"):
        raise ImageUnavailable("fetching a kernel needs Debian's dpkg-deb")
    package = f"linux-image-{release}-unsigned"
    # where Debian has put the image: /boot, or (some linux-binary packages) the modules' folder
    members = (f"./boot/vmlinuz-{release}", f"./usr/lib/modules/{release}/vmlinuz")
    if from_apt is None:
        from_apt = release in apt_releases()
    with tempfile.TemporaryDirectory(dir=folder.path) as tmp:
        indexed = None if from_apt else backports_index().get(release)
        if indexed is not None:
            package = Path(indexed.filename).name.split("_", 1)[0]
            debs = [_download(indexed, Path(tmp))]
        else:
            if not shutil.which("apt-get"):
                raise ImageUnavailable("fetching a kernel needs Debian's apt-get")
            got = subprocess.run(["apt-get", "download", "-q", package], cwd=tmp,
                                 capture_output=True, text=True, check=False)
            debs = list(Path(tmp).glob("*.deb"))
            if got.returncode or not debs:
                last = (got.stderr.strip().splitlines() or ["no package downloaded"])[-1]
                raise ImageUnavailable(f"apt-get download {package} failed: {last}")
        part = _unpack_image(debs[0], members, Path(tmp))
        if part is not None:
            os.chmod(part, 0o644)
            part.replace(folder.path / name)  # atomic: never half a file in the cache
        target = own_file(folder, name)
    if target is None:
        raise ImageUnavailable(f"package {package} has no {' or '.join(members)}")
    return target


def resolve(spec: str, fetch_missing: bool = True) -> KernelImage:
    """The kernel image ``spec`` names, fetched into the cache if needed."""
    path = Path(spec)
    if "/" in spec or path.is_file():
        if not path.is_file():
            raise ImageUnavailable(f"no kernel image at {spec}")
        return KernelImage(path.name.removeprefix("vmlinuz-"), path.resolve())
    series = re.fullmatch(r"\d+\.\d+", spec) is not None
    if not series and not RELEASE.fullmatch(spec):
        raise ImageUnavailable(f"{echo(spec)} is not a series (6.12), a release name (6.12.117+deb12-{FLAVOUR}) "
                               "or the path of a kernel image")
    have = cached()
    exact = [k for k in have if k.release == spec]
    if exact:
        return exact[0]
    if series:
        same = [k for k in have if k.series == spec]
        if same:
            return same[-1]  # the newest cached release of the series
    from_apt = apt_releases()  # asked once: fetch is told what it said
    try:
        on_offer = fetchable(from_apt)
        unchecked = None
    except ImageUnavailable as e:  # Debian's suites cannot be checked here: apt's own offers still can
        on_offer, unchecked = from_apt, e
    offered = [r for r in on_offer if (series_of(r) == spec if series else r == spec)]
    if not offered and unchecked is not None:
        raise unchecked
    if not offered:
        raise ImageUnavailable(f"no Linux {spec} {FLAVOUR} kernel is cached or offered by apt or Debian's "
                               f"{', '.join(suite for _, suite in SUITES)} "
                               "(try 'apt-get update'; 'hugelab kernels' lists what there is)")
    if not fetch_missing:
        raise ImageUnavailable(f"Linux {offered[-1]} is not cached (hugelab kernels --fetch {spec})")
    return fetch(offered[-1], from_apt=offered[-1] in from_apt)
