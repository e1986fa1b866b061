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
