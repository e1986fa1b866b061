"""Files hugelab writes where another user could have planted a link: only in folders it checked.

hugelab may run as root in a folder other users can reach (``cd /tmp; hugelab lab``, a kernel
cache under ``$XDG_CACHE_HOME``). A link planted there would turn root's write into an overwrite
of any file, and a file planted there would be trusted (a notebook signed, a kernel booted). So:

* every folder hugelab writes in is opened with ``O_NOFOLLOW | O_DIRECTORY`` and must belong to
  the user hugelab runs as and be writable by no one else (:class:`Folder`); the folders above it
  must belong to root or that user, and be writable by others only with the sticky bit (as
  ``/tmp``), so no one else can swap it for another (:func:`check_ancestors`). Writable by its
  group counts as writable by no one else when that group is the user's own private group (its
  only member: Debian gives each user one, and umask 002, so a learner's folders are 0775);
* every file in it is read with ``O_NOFOLLOW`` (a link is refused) and written by creating a new
  file under a random name with ``O_CREAT | O_EXCL | O_NOFOLLOW``, then renaming it over the old
  name: a link at that name is replaced, never followed;
* anything else is refused with :class:`UnsafePath`, one line naming the path and what to do.

Once a folder is checked nobody else can add, swap or remove an entry in it, so the checks still
hold while hugelab works in it; everything is done relative to the folder's descriptor anyway.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: a file is read without following a link and without waiting on a FIFO
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(RuntimeError):
    """A folder or file hugelab would write or trust, which another user could control; one line."""


def _who() -> int:
    return os.geteuid()


def private_group(gid: int, uid: int) -> bool:
    """Is ``gid`` a group whose one member is ``uid`` (as its primary group, or listed)?

    The rule of Debian's OpenSSH for group-writable files: a group with no member (as setgid
    programs use) or with anyone else in it is not private.
    """
    import grp
    import pwd

    try:
        group = grp.getgrgid(gid)
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return False
    primary = [user.pw_uid for user in pwd.getpwall() if user.pw_gid == gid]
    if any(member != uid for member in primary) or any(member != name for member in group.gr_mem):
        return False
    return bool(primary or group.gr_mem)


def _writable_by_others(info: os.stat_result) -> bool:
    """Others may write, or a group other than our own private one."""
    return bool(info.st_mode & 0o002) or bool(info.st_mode & 0o020 and not private_group(info.st_gid, _who()))


def check_owned(info: os.stat_result, path: str | Path) -> None:
    """UnsafePath unless ``info`` (of a folder or file) is ours and writable by no one else."""
    if info.st_uid != _who():
        raise UnsafePath(f"{path} belongs to uid {info.st_uid}, not to uid {_who()} running hugelab: "
                         "hugelab does not write in or trust another user's files; choose another place")
    if _writable_by_others(info):
        raise UnsafePath(f"{path} can be written by other users (mode {stat.filemode(info.st_mode)}): "
                         f"make it private with 'chmod go-w {path}', or choose another place")


def check_ancestors(path: str | Path) -> None:
    """UnsafePath if another user could rename or replace ``path`` through a folder above it.

    Each folder above (links resolved) must belong to root or to us, and be writable by group
    or others only with the sticky bit, where only an entry's owner may rename it (``/tmp``).
    """
    real = Path(os.path.realpath(path))
    for folder in real.parents:
        info = os.lstat(folder)
        if info.st_uid not in (0, _who()):
            raise UnsafePath(f"{folder} (above {path}) belongs to uid {info.st_uid}: another user could replace "
                             f"{path}; choose a place outside it")
        if _writable_by_others(info) and not info.st_mode & stat.S_ISVTX:
            raise UnsafePath(f"{folder} (above {path}) can be written by other users and is not sticky "
                             f"(mode {stat.filemode(info.st_mode)}): another user could replace {path}")


def _single(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise UnsafePath(f"{name!r} is not a plain file name")
    return name


class Folder:
    """A folder of ours, open as a descriptor; every name is one entry in it (a context manager)."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    # -- opening ------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, create: bool = False, mode: int = 0o755) -> Folder:
        """The folder at ``path`` (made with ``mode`` if ``create`` and missing), checked."""
        path = Path(os.path.abspath(path))
        return cls._open(path, str(path), None, create, mode)

    def sub(self, name: str, create: bool = False, mode: int = 0o755) -> Folder:
        """The folder ``name`` in this one (made with ``mode`` if ``create`` and missing), checked."""
        return self._open(self.path / _single(name), name, self.fd, create, mode)

    @classmethod
    def _open(cls, path: Path, name: str, dir_fd: int | None, create: bool, mode: int) -> Folder:
        made = False
        if create:
            try:
                os.mkdir(name, 0o700, dir_fd=dir_fd)  # private until checked and given its mode
                made = True
            except FileExistsError:
                pass
            except OSError as e:
                raise UnsafePath(f"cannot make the folder {path}: {e.strerror}") from None
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise UnsafePath(f"{path} is a symbolic link: hugelab does not follow links where it writes; "
                                 "remove it") from None
            if e.errno == errno.ENOTDIR:
                raise UnsafePath(f"{path} is not a folder") from None
            raise UnsafePath(f"cannot open the folder {path}: {e.strerror}") from None
        try:
            if made:
                os.fchmod(fd, mode)  # whatever the umask (000 would leave it open to everyone)
            check_owned(os.fstat(fd), path)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, path)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- entries ------------------------------------------------------------
    def lstat(self, name: str) -> os.stat_result | None:
        """The entry ``name`` itself (a link is not followed); None if there is none."""
        try:
            return os.stat(_single(name), dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def read(self, name: str, limit: int, owned: bool = False) -> bytes | None:
        """The bytes of the regular file ``name``; None if there is none. UnsafePath for a link,
        anything but a regular file, or more than ``limit`` bytes; with ``owned``, also for a
        file that is not ours or that others may write."""
        try:
            fd = os.open(_single(name), _READ_FLAGS, dir_fd=self.fd)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise UnsafePath(f"{self.path / name} is a symbolic link: hugelab does not follow links "
                                 "where it writes; remove it") from None
            raise UnsafePath(f"cannot read {self.path / name}: {e.strerror}") from None
        with open(fd, "rb", closefd=True) as f:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise UnsafePath(f"{self.path / name} is not a regular file; remove it")
            if owned:
                check_owned(info, self.path / name)
            data = f.read(limit + 1)
        if len(data) > limit:
            raise UnsafePath(f"{self.path / name} is larger than the {limit:,} bytes hugelab expects there")
        return data

    def create(self, name: str, mode: int = 0o644) -> int:
        """A new, empty file that has taken ``name``'s place: its descriptor, open for writing.

        Made under a random name with O_EXCL (nothing that was there is opened), then renamed
        over ``name`` (a link there is replaced, not followed).
        """
        name = _single(name)
        while True:
            part = f".{name}.{secrets.token_hex(6)}.part"
            try:
                fd = os.open(part, _NEW_FLAGS, 0o600, dir_fd=self.fd)
                break
            except FileExistsError:
                continue
            except OSError as e:
                raise UnsafePath(f"cannot write in {self.path}: {e.strerror}") from None
        try:
            os.fchmod(fd, mode)
            os.rename(part, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except OSError as e:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(part, dir_fd=self.fd)
            raise UnsafePath(f"cannot write {self.path / name}: {e.strerror}") from None
        return fd

    def write(self, name: str, data: bytes, mode: int = 0o644) -> None:
        """``name`` holds ``data``, all at once (readers see the old file or the new one)."""
        name = _single(name)
        part = f".{name}.{secrets.token_hex(6)}.part"
        try:
            fd = os.open(part, _NEW_FLAGS, 0o600, dir_fd=self.fd)
        except OSError as e:
            raise UnsafePath(f"cannot write in {self.path}: {e.strerror}") from None
        try:
            with open(fd, "wb", closefd=True) as out:
                out.write(data)
                os.fchmod(fd, mode)
            os.rename(part, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(part, dir_fd=self.fd)
            raise UnsafePath(f"cannot write {self.path / name}: {e.strerror}") from None

    def remove_tree(self, name: str) -> None:
        """Remove the entry ``name`` (a folder with all in it, links not followed); none is fine."""
        if self.lstat(name) is not None:
            _remove(self.fd, _single(name))


def _remove(dir_fd: int, name: str) -> None:
    """Remove ``name`` in ``dir_fd``: a folder through its own descriptor, so no link is followed."""
    if not stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        for entry in os.scandir(fd):
            _remove(fd, entry.name)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)
