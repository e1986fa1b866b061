"""The guest initramfs's cache of stripped binaries, when guests are built at once."""

import shutil
import sys
import threading
from pathlib import Path

import pytest

from hugelab.realkernel import initramfs


@pytest.mark.skipif(shutil.which("strip") is None, reason="needs binutils' strip")
def test_guests_built_at_once_share_one_stripped_copy(tmp_path, monkeypatch):
    # Both CI guests start in threads of one process (one pid): their stripped copies of the
    # same binary once raced for one part file, and every guest test errored.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    # the guest's own big binaries: a python, or the libpython it links
    candidates = [Path(sys.executable).resolve(), Path("/usr/bin/python3").resolve(),
                  *Path(sys.base_prefix, "lib").glob("libpython3*.so.1.0")]
    big = [p for p in candidates if p.is_file() and p.stat().st_size >= (1 << 20)]
    if not big:
        pytest.skip("no binary here is big enough to be stripped")
    binary = str(big[0])
    results, errors = [], []

    def strip_once():
        try:
            results.append(initramfs._lean(binary))
        except Exception as error:  # collected: a thread's exception would not fail the test
            errors.append(error)

    threads = [threading.Thread(target=strip_once) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1 and results[0].is_file()
    assert list(results[0].parent.iterdir()) == [results[0]]  # no part file left behind


@pytest.mark.skipif(shutil.which("strip") is None, reason="needs binutils' strip")
def test_a_stripped_binary_stays_executable_in_the_guest(tmp_path, monkeypatch):
    """Debian's python3.11 is big enough to be stripped: its stripped copy once went into the
    initramfs as 0644, and every guest of a CI run (Debian's python) died at boot with
    "/usr/bin/python3.11: Permission denied"."""
    import os
    import stat
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    big = [p for p in (Path("/usr/bin/python3").resolve(), Path(sys.executable).resolve())
           if p.is_file() and p.stat().st_size >= (1 << 20)]
    if not big:
        pytest.skip("no python here is big enough to be stripped")
    lean = initramfs._lean(str(big[0]))
    assert lean != big[0] and os.stat(lean).st_mode & stat.S_IXUSR
    os.chmod(lean, 0o644)  # a copy cached by the code before the fix: the archive still marks it executable
    dest = tmp_path / "initrd"
    with open(dest, "wb") as out:
        initramfs.Archive(out).copy("/usr/bin/python3.11", lean, initramfs._mode_of(str(big[0])))
    assert newc_modes(dest.read_bytes())["usr/bin/python3.11"] & stat.S_IXUSR


def newc_modes(data: bytes) -> dict[str, int]:
    """Each entry's mode in a cpio (newc) archive, by name."""
    modes, at = {}, 0
    while at + 110 <= len(data) and data[at:at + 6] == b"070701":
        field = [int(data[at + 6 + 8 * i: at + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = field[1], field[6], field[11]
        name = data[at + 110: at + 110 + namesize - 1].decode()
        at = (at + 110 + namesize + 3) & ~3
        at = (at + size + 3) & ~3
        modes[name] = mode
    return modes
