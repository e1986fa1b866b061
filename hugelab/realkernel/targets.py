"""Which real kernel a command means: this machine's, or one booted in a QEMU guest.

``open_kernel(spec)`` gives a context manager with ``.release`` and
``.replay(trace) -> list[Step]`` for either:

* ``host`` (or this machine's own series, e.g. ``6.18``, or its full
  release): the running kernel, through :class:`~hugelab.realkernel.KernelSession`
  (root, an idle pool; on a shared machine wrap the command in the pool's
  ``flock``);
* anything else (``6.1``, ``6.12``, a release name, a kernel image path): a
  :class:`~hugelab.realkernel.guest.Guest`, fetched and booted on first use.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..replay import Step
from ..trace.language import Trace
from .images import ImageUnavailable, KernelImage, resolve, series_of
from .machine import CLEANUP_CODES, KernelLeaked, KernelSession, KernelUnavailable, check_limits

HOST = "host"


def host_release() -> str:
    return os.uname().release


def is_host(spec: str) -> bool:
    """Does ``spec`` name this machine's running kernel?"""
    release = host_release()
    return spec in (HOST, release) or spec == series_of(release)


def min_size_in_random_traces(specs: Iterable[str], files: bool, asked: bool | None = None) -> bool:
    """Whether random traces replayed on the kernels ``specs`` may mount with ``min_size=``.

    Never when one of them is this machine's kernel: random traces with ``min_size`` mounts found a
    reservation leak (Linux 6.15 to 7.3 at least, scenario ``min-size-leak-6.18``) that keeps the
    host's huge pages reserved until reboot, and a host in that state refuses every later run that
    needs an idle pool, CI's included. In a throw-away QEMU guest the leak goes with the guest.

    ``files``: the traces are trace v2 (v1 has no mounts, so never). ``asked``: what the user
    asked for; None is the default, yes when every kernel is a guest's. Asking for them on this
    machine's kernel raises :class:`KernelUnavailable` (one line), before anything is booted or touched.
    """
    on_host = any(is_host(spec) for spec in specs)
    if asked and on_host:
        raise KernelUnavailable("refused: random traces with min_size mounts can leak huge page reservations "
                                "until reboot (scenario min-size-leak-6.18); verify them in a guest (--kernel 6.12)")
    return files and (not on_host if asked is None else asked)


def describe(spec: str) -> str:
    """A short name for the kernel ``spec`` means (for headers and messages)."""
    return f"{host_release()} (this machine)" if is_host(spec) else spec


class HostKernel:
    """The running kernel behind the same face as a guest."""

    def __init__(self) -> None:
        self.release = host_release()
        self.upstream = ""  # the release says it (6.18.44-...)
        self._session: KernelSession | None = None

    def __enter__(self) -> HostKernel:
        self._session = KernelSession().__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._session is not None:
            self._session.__exit__(*exc)
            self._session = None


    def replay(self, trace: Trace, label: str = "the trace") -> list[Step]:
        """``label`` names the trace if the pool is not bare after it."""
        from . import replay_on
        assert self._session is not None
        return replay_on(self._session, trace, label)


CLEANUP_CODES.add(HostKernel.__exit__.__code__)  # a signal here must not skip the session's cleanup


def open_kernel(spec: str):
    """The kernel ``spec`` names, ready to enter (``with open_kernel("6.12") as k: k.replay(t)``).

    Raises :class:`KernelUnavailable` (one line) when it cannot be had here.
    """
    if is_host(spec):
        return HostKernel()
    from .guest import Guest
    return Guest(guest_image(spec))


def guest_image(spec: str) -> KernelImage:
    """The guest kernel image ``spec`` names (cached, or fetched); :class:`KernelUnavailable` (one
    line) when this machine cannot run guests or no such image can be had."""
    from .guest import why_no_guest
    reason = why_no_guest()
    if reason:
        raise KernelUnavailable(reason)
    try:
        return resolve(spec)
    except ImageUnavailable as e:
        raise KernelUnavailable(str(e)) from None


def replay_on_kernel(trace: Trace, spec: str = HOST, label: str = "the trace") -> list[Step]:
    """Replay one trace on the kernel ``spec`` names (one boot, for a guest).

    On this machine's kernel, a trace :func:`hugelab.realkernel.refusal` refuses
    (a ``min_size`` mount) or one past this machine's limits
    (:mod:`hugelab.limits`) is refused before the lock, the pool or any sysctl.
    A kernel that leaks raises :class:`KernelLeaked` with the records and, in a
    guest, the first step whose prefix of the trace leaks on its own.
    """
    if is_host(spec):
        from . import refusal
        reason = refusal(trace)
        if reason:
            raise KernelUnavailable(reason)
        check_limits(trace)
        with HostKernel() as host:
            return host.replay(trace, label)
    with open_kernel(spec) as kernel:
        try:
            return kernel.replay(trace)
        except KernelLeaked as leak:  # which step: a fresh guest replays the trace's prefixes
            leak.step = kernel.leaking_step(trace)
            raise
