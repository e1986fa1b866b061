"""Kernel images for guests: the backports suite's package index, read offline."""

import pytest

from hugelab.realkernel import images

INDEX = """Package: linux-image-6.18.15+deb13-cloud-amd64
Source: linux-signed-amd64 (6.18.15-1~bpo13+1)
Version: 6.18.15-1~bpo13+1
Size: 49146196
Filename: pool/main/l/linux-signed-amd64/linux-image-6.18.15+deb13-cloud-amd64_6.18.15-1~bpo13+1_amd64.deb
SHA256: 5a507681ea8c978d02265a7fec2f02c9588fb48b54b7f71edc1059e86007f3ec
Description: Linux 6.18 for x86-64 cloud
 The Linux kernel 6.18 and modules for use on x86-64 cloud: Filename: not-this

Package: linux-image-6.18.15+deb13-amd64
Size: 1
Filename: pool/x.deb
SHA256: 00

Package: linux-image-6.19.8+deb13-cloud-amd64-dbg
Size: 1
Filename: pool/y.deb
SHA256: 00

Package: linux-image-6.19.8+deb13-cloud-amd64
Filename: pool/no-size.deb
SHA256: 00
"""


def test_the_index_gives_each_cloud_image_with_its_file_and_checksum():
    found = images.parse_index(INDEX)
    assert list(found) == ["6.18.15+deb13-cloud-amd64"]  # not -amd64, not -dbg, not without a size
    package = found["6.18.15+deb13-cloud-amd64"]
    assert package.filename.endswith("_6.18.15-1~bpo13+1_amd64.deb") and package.size == 49146196
    assert package.sha256.startswith("5a507681")  # not the description's continuation line


def test_releases_sort_by_their_numbers():
    names = ["6.19.14+deb13-cloud-amd64", "6.18.9+deb13-cloud-amd64", "6.18.15+deb13-cloud-amd64",
             "7.0.1+deb13-cloud-amd64"]
    assert sorted(names, key=images.release_key) == [
        "6.18.9+deb13-cloud-amd64", "6.18.15+deb13-cloud-amd64", "6.19.14+deb13-cloud-amd64", "7.0.1+deb13-cloud-amd64"]
    assert images.series_of("6.18.15+deb13-cloud-amd64") == "6.18"


BINARY_INDEX = """Package: linux-image-6.19.14+deb13-cloud-amd64
Version: 6.19.14-1~bpo13+1
Depends: linux-binary-6.19.14+deb13-cloud-amd64
Size: 1500
Filename: pool/main/l/linux-signed-amd64/linux-image-6.19.14+deb13-cloud-amd64_6.19.14-1~bpo13+1_amd64.deb
SHA256: aa

Package: linux-binary-6.19.14+deb13-cloud-amd64
Version: 6.19.14-1~bpo13+1
Size: 13030208
Filename: pool/main/l/linux-signed-amd64/linux-binary-6.19.14+deb13-cloud-amd64_6.19.14-1~bpo13+1_amd64.deb
SHA256: bb

Package: linux-image-7.0.4+deb13-cloud-amd64
Version: 7.0.4-1~bpo13+1
Size: 1500
Filename: pool/main/l/linux-signed-amd64/linux-image-7.0.4+deb13-cloud-amd64_7.0.4-1~bpo13+1_amd64.deb
SHA256: cc

Package: linux-binary-7.0.4+deb13-cloud-amd64
Version: 7.0.4-1~bpo13+1
Size: 13000000
Filename: pool/main/l/linux-signed-amd64/linux-binary-7.0.4+deb13-cloud-amd64_7.0.4-1~bpo13+1_amd64.deb
SHA256: dd

Package: linux-image-6.1-cloud-amd64
Version: 6.1.180-1~deb11u1
Size: 1500
Filename: pool/main/l/linux-signed-amd64/linux-image-6.1-cloud-amd64_6.1.180-1~deb11u1_amd64.deb
SHA256: ee

Package: linux-image-5.10.0-46-cloud-amd64-unsigned
Version: 5.10.262-1
Size: 20000000
Filename: pool/main/l/linux/linux-image-5.10.0-46-cloud-amd64-unsigned_5.10.262-1_amd64.deb
SHA256: ff
"""


def test_from_6_19_6_on_the_binary_package_holds_the_image_whichever_comes_first():
    found = images.parse_index(BINARY_INDEX, "http://security.debian.org/debian-security", "bullseye-security")
    assert sorted(found, key=images.release_key) == [
        "5.10.0-46-cloud-amd64", "6.19.14+deb13-cloud-amd64", "7.0.4+deb13-cloud-amd64"]  # no metapackage 6.1
    for release in ("6.19.14+deb13-cloud-amd64", "7.0.4+deb13-cloud-amd64"):
        assert found[release].kind == "binary" and "/linux-binary-" in found[release].filename
    old = found["5.10.0-46-cloud-amd64"]  # an ABI name: the package's version says which 5.10 it is
    assert old.kind == "image" and old.version == "5.10.262-1" and old.suite == "bullseye-security"
    assert old.mirror == "http://security.debian.org/debian-security"


def test_every_suite_kernel_findings_found_reachable_is_read():
    assert [suite for _, suite in images.SUITES] == ["bullseye", "bullseye-security", "bookworm-backports",
                                                     "trixie-backports"]


# -- the cache and apt: a cached image needs no apt; apt is asked at most once -----------------------
CACHED = "6.12.999+deb12-cloud-amd64"
OFFERED = "6.99.1-1-cloud-amd64"


@pytest.fixture
def tools(tmp_path, monkeypatch):
    """An empty kernel cache, and a PATH of stand-ins: ``apt-cache`` (offers OFFERED; writes each call
    to ``apt-cache.log``), ``apt-get`` (fails), ``dpkg-deb``. No network: Debian's suites offer nothing."""
    home = tmp_path / "cache"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "apt-cache.log"
    scripts = {
        "apt-cache": f'echo "$*" >> {log}\n'
                     f'[ "$1" = search ] && echo "linux-image-{OFFERED}-unsigned - Linux for x86-64 cloud"\n',
        "apt-get": 'echo "E: no network here" >&2\nexit 100\n',
        "dpkg-deb": "exit 2\n",
    }
    for name, body in scripts.items():
        (bin_ / name).write_text("#!/bin/sh\n" + body)
        (bin_ / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_))
    monkeypatch.setattr(images, "backports_index", lambda: {})
    return home / "hugelab" / "kernels", log


def cache_image(kernels, release: str, mode: int = 0o644):
    folder = images.cache_folder()
    assert folder is not None and folder.path == kernels
    image = kernels / f"vmlinuz-{release}"
    image.write_bytes(b"a kernel")
    image.chmod(mode)
    return image


def apt_calls(log) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_a_cached_image_is_found_without_asking_apt(tools):
    kernels, log = tools
    image = cache_image(kernels, CACHED)
    assert images.fetch(CACHED) == images.KernelImage(CACHED, image)
    assert images.resolve(CACHED) == images.resolve("6.12") == images.KernelImage(CACHED, image)
    assert apt_calls(log) == []


def test_a_cached_image_others_may_write_is_refused_not_booted(tools):
    kernels, log = tools
    cache_image(kernels, CACHED, mode=0o666)
    with pytest.raises(images.ImageUnavailable, match="can be written by other users"):
        images.fetch(CACHED)
    assert apt_calls(log) == []


def test_fetching_a_release_asks_apt_once(tools):
    _, log = tools
    with pytest.raises(images.ImageUnavailable) as failed:
        images.resolve("6.99")  # found in apt's offers, then fetched with apt-get: one apt-cache search
    assert str(failed.value) == f"apt-get download linux-image-{OFFERED}-unsigned failed: E: no network here"
    assert [call.split()[0] for call in apt_calls(log)] == ["search"]
    log.unlink()
    with pytest.raises(images.ImageUnavailable, match="apt-get download"):
        images.fetch(OFFERED)  # asked alone: whether apt offers it, once
    assert [call.split()[0] for call in apt_calls(log)] == ["search"]
