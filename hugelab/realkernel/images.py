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
SHA-256, with no change to the machine's apt sources. Only the kernel image is
unpacked (``./boot/vmlinuz-REL`` or ``./usr/lib/modules/REL/vmlinuz``; from 6.19.6
on ``linux-image-REL`` is a metapackage and ``linux-binary-REL`` holds it), into the cache
(``$XDG_CACHE_HOME/hugelab/kernels``, else ``~/.cache/hugelab/kernels``);
nothing is installed and the host's ``/boot`` is never touched. Debian drops
old ABI numbers, so a series means the newest release, never a pinned one.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

#: Debian's cloud flavour: HUGETLBFS built in, boots without modules
FLAVOUR = "cloud-amd64"
_PACKAGE = re.compile(r"^linux-image-(\d+\.\d+[^ ]*-" + FLAVOUR + r")-unsigned$")


#: where series newer than the machine's own apt offers come from
BACKPORTS_MIRROR = "http://deb.debian.org/debian"
BACKPORTS_SUITE = "trixie-backports"
#: every suite whose index hugelab reads itself (mirror, suite): what docs/findings.md §5 found reachable
SUITES = ((BACKPORTS_MIRROR, "bullseye"), ("http://security.debian.org/debian-security", "bullseye-security"),
          (BACKPORTS_MIRROR, "bookworm-backports"), (BACKPORTS_MIRROR, BACKPORTS_SUITE))
#: an image package (signed or not; from 6.19.6 on only a metapackage) or the binary package holding the image
_INDEXED_PACKAGE = re.compile(r"^linux-(image|binary)-(\d+\.\d+[.+-][^ ]*-" + FLAVOUR + r")(-unsigned)?$")
#: the suite's index is fetched again after a day
_INDEX_MAX_AGE = 24 * 3600
#: no kernel package is near this; a bigger download is refused, not stored
_MAX_DEB_BYTES = 256 << 20


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


def cached() -> list[KernelImage]:
    """The kernel images in the cache, oldest release first."""
    folder = cache_dir()
    if not folder.is_dir():
        return []
    found = [KernelImage(p.name[len("vmlinuz-"):], p) for p in folder.glob("vmlinuz-*") if p.is_file()]
    return sorted(found, key=lambda k: release_key(k.release))


def fetchable() -> list[str]:
    """Release names on offer in the cloud flavour: the machine's apt, then the backports suite."""
    return sorted(set(apt_releases()) | set(backports_index()), key=release_key)


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
    """One suite's kernel images (cached for a day; empty when the mirror cannot be reached)."""
    path = cache_dir() / f"{suite}.Packages"
    if not path.is_file() or time.time() - path.stat().st_mtime > _INDEX_MAX_AGE:
        url = f"{mirror}/dists/{suite}/main/binary-amd64/Packages.xz"
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                text = lzma.decompress(answer.read(64 << 20)).decode("utf-8", "replace")
        except (OSError, lzma.LZMAError):
            return parse_index(path.read_text(), mirror, suite) if path.is_file() else {}
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        part.write_text(text)
        part.replace(path)
    return parse_index(path.read_text(), mirror, suite)


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


def fetch(release: str) -> KernelImage:
    """Download ``release``'s package, unpack only its kernel image into the cache."""
    if not shutil.which("dpkg-deb"):
        raise ImageUnavailable("fetching a kernel needs Debian's dpkg-deb")
    package = f"linux-image-{release}-unsigned"
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        # where Debian has put the image: /boot, or (some linux-binary packages) the modules' folder
        members = (f"./boot/vmlinuz-{release}", f"./usr/lib/modules/{release}/vmlinuz")
        indexed = backports_index().get(release) if release not in apt_releases() else None
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
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(debs[0])], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        with tarfile.open(fileobj=tar.stdout, mode="r|") as archive:
            for entry in archive:
                if entry.name in members and entry.isfile():
                    source = archive.extractfile(entry)
                    assert source is not None
                    part = Path(tmp) / "vmlinuz"
                    with open(part, "wb") as out:
                        shutil.copyfileobj(source, out)
                    part.replace(folder / f"vmlinuz-{release}")  # atomic: never half a file in the cache
                    break
        stream = tar.stdout
        for _ in iter(lambda: stream.read(1 << 20), b""):
            pass  # drain the rest, so dpkg-deb ends normally instead of on a broken pipe
        tar.stdout.close()
        tar.wait()
    target = folder / f"vmlinuz-{release}"
    if not target.is_file():
        raise ImageUnavailable(f"package {package} has no {' or '.join(members)}")
    return KernelImage(release, target)


def resolve(spec: str, fetch_missing: bool = True) -> KernelImage:
    """The kernel image ``spec`` names, fetched into the cache if needed."""
    path = Path(spec)
    if "/" in spec or path.is_file():
        if not path.is_file():
            raise ImageUnavailable(f"no kernel image at {spec}")
        return KernelImage(path.name.removeprefix("vmlinuz-"), path.resolve())
    have = cached()
    exact = [k for k in have if k.release == spec]
    if exact:
        return exact[0]
    if re.fullmatch(r"\d+\.\d+", spec):
        same = [k for k in have if k.series == spec]
        if same:
            return same[-1]  # the newest cached release of the series
        offered = [r for r in fetchable() if series_of(r) == spec]
    else:
        offered = [r for r in fetchable() if r == spec]
    if not offered:
        raise ImageUnavailable(f"no Linux {spec} {FLAVOUR} kernel is cached or offered by apt or Debian's "
                               f"{', '.join(suite for _, suite in SUITES)} "
                               "(try 'apt-get update'; 'hugelab kernels' lists what there is)")
    if not fetch_missing:
        raise ImageUnavailable(f"Linux {offered[-1]} is not cached (hugelab kernels --fetch {spec})")
    return fetch(offered[-1])
