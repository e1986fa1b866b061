"""hugelab.ownfiles: which folders count as the user's own, and writing without following links."""

import os
import pwd

import pytest

from hugelab.ownfiles import Folder, UnsafePath, private_group

ROOT = os.geteuid() == 0
NOGROUP = 65534  # nobody's primary group here, and the primary group of other system users too


def test_a_group_is_private_only_when_the_user_is_its_one_member():
    me = os.geteuid()
    others = [u.pw_uid for u in pwd.getpwall() if u.pw_gid == NOGROUP]
    assert private_group(NOGROUP, me) == (others == [me])
    assert not private_group(2**31 - 7, me)  # no such group


@pytest.mark.skipif(not ROOT, reason="needs root (to give a folder another group)")
def test_group_writable_is_ours_only_in_our_private_group(tmp_path):
    if not private_group(0, 0):
        pytest.skip("root's group has other members here")
    mine = tmp_path / "mine"
    mine.mkdir()
    mine.chmod(0o775)  # as a Debian user's umask 002 makes it, in the user's own group
    with Folder.open(mine) as folder:
        folder.write("f", b"x")
    os.chown(mine, 0, NOGROUP)  # a group others are in
    with pytest.raises(UnsafePath, match="can be written by other users"):
        Folder.open(mine)


def test_a_write_replaces_a_link_instead_of_following_it(tmp_path):
    target = tmp_path / "target"
    target.write_text("kept\n")
    folder_path = tmp_path / "folder"
    folder_path.mkdir(mode=0o755)
    (folder_path / "f").symlink_to(target)
    with Folder.open(folder_path) as folder:
        with pytest.raises(UnsafePath, match="is a symbolic link"):
            folder.read("f", 100)
        folder.write("f", b"new\n")
    assert target.read_text() == "kept\n" and not (folder_path / "f").is_symlink()
    assert (folder_path / "f").read_text() == "new\n"
