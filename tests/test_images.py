"""Kernel images for guests: the backports suite's package index, read offline."""

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
