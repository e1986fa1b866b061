"""``hugelab kernels``: the real kernels a replay can use here, and fetching more.

Lists this machine's running kernel (``--kernel`` alone), the kernel images
in the cache (booted in a QEMU guest by ``--kernel 6.12`` and the like), and
the Debian releases on offer that are not cached yet (``apt``, and the suites
of :data:`hugelab.kernel.images.SUITES`): each series' newest, or with
``--all`` every release.
"""

from __future__ import annotations

import re
from typing import TextIO

from . import images
from .images import ImageUnavailable
from .targets import host_release


def kernels(fetch: list[str], out: TextIO, every: bool = False) -> int:
    """``every``: one line for every release on offer, not only each series' newest."""
    from ..model.policies import policy_for_kernel
    from .guest import why_no_guest
    from .machine import KernelUnavailable

    for spec in fetch:
        try:
            image = images.resolve(spec)
        except ImageUnavailable as e:
            raise KernelUnavailable(str(e)) from None
        print(f"cached: Linux {image.release} at {image.path}", file=out)
    try:
        indexed, unchecked = images.backports_index(), None
    except ImageUnavailable as e:  # Debian's suites cannot be checked here: apt's offers only
        indexed, unchecked = {}, e
    from_apt = set(images.apt_releases())  # apt asked once
    on_offer = sorted(from_apt | set(indexed), key=images.release_key)

    def policy_of(release: str) -> str:
        # an ABI name (6.1.0-57) hides the upstream release its package's version gives (6.1.192)
        package = indexed.get(release)
        upstream = package.version.split("-")[0] if package and package.version else ""
        if not upstream and re.match(r"\d+\.\d+\.0-\d+", release):
            upstream = images.apt_upstream(release)
        try:
            return policy_for_kernel(release, upstream)
        except ValueError:
            return "none known: name one with --policy (see 'hugelab policies')"

    host = host_release()
    print(f"host     Linux {host}  (this machine; --kernel, root; policy {policy_of(host)})", file=out)
    try:
        have = images.cached()
    except ImageUnavailable as e:
        raise KernelUnavailable(str(e)) from None
    for image in have:
        name = image.release if image.series == images.series_of(host) else image.series  # 6.18 is the host
        print(f"cached   Linux {image.release}  (--kernel {name}; policy {policy_of(image.release)})", file=out)
    names = {k.release for k in have}
    offered = [r for r in on_offer if r not in names]
    newest: dict[str, str] = {}
    for release in offered:  # oldest first, so the last one of a series wins
        newest[images.series_of(release)] = release
    for series, release in sorted(newest.items(), key=lambda kv: images.release_key(kv[0])):
        listed = [r for r in offered if images.series_of(r) == series]
        more = f"; {len(listed) - 1} older: --all lists them" if len(listed) > 1 and not every else ""
        cached_series = any(k.series == series for k in have)
        # a series alone names a cached release, or this machine's kernel when it is the host's
        by_release = cached_series or series == images.series_of(host)
        for name in listed if every else [release]:
            how = f"--kernel {name}" if by_release or name != release else f"--kernel {series}"
            package = indexed.get(name)
            source = "apt" if name in from_apt or package is None else package.suite
            # an ABI name (5.10.0-30) hides the upstream release its package's version gives (5.10.218)
            upstream = package.version.split("-")[0] if package and package.version else ""
            known = f", Linux {upstream}" if upstream and not name.startswith(upstream + "+") else ""
            print(f"fetch    Linux {name}  ({source}{known}; {how} fetches it{more})", file=out)
    if unchecked is not None:
        print(f"note: {unchecked}", file=out)
    reason = why_no_guest()
    if reason:
        print(f"note: guests cannot boot here: {reason}", file=out)
    print(f"cache: {images.cache_dir()}", file=out)
    return 0
