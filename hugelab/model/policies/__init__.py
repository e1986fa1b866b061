"""The policies: the eras of 2008 exact to their sources, and any kernel release as the commits it carries.

Named policies (:data:`POLICIES`): the four 2008 eras, each one object in
its own module (``unreserved`` = v2.6.26, ``double-credit`` = c37f9fb1,
``region-count`` = 84afd99b, ``linux-2.6.27``), ``modern`` (this machine's
kernel, 6.18.44) and the names earlier versions of hugelab gave real
kernels, now aliases of the release each was checked on. Any other
``linux-RELEASE[+ID|-ID...]`` is built from :mod:`hugelab.model.commits`
(:mod:`.kernels`).
"""

from __future__ import annotations

import re

from ..commits import commits_of
from .base import FEATURES, Close, PageState, Policy, check_supported
from .double_credit import POLICY as DOUBLE_CREDIT
from .kernels import build, kernel_policy
from .linux_2_6_27 import POLICY as LINUX_2_6_27
from .modern import MODERN_RELEASE
from .region_count import POLICY as REGION_COUNT
from .unreserved import POLICY as UNRESERVED

#: older names of real kernels -> the release each was checked on (the same commits)
ALIASES = {
    "linux-6.1": ("6.1.192", "Debian 12's 6.1, checked on 6.1.192 (6.1.0-56): the commits of 6.1.191 and later"),
    "linux-6.12": ("6.12.117", "Debian 12's 6.12, checked on 6.12.117: the commits of 6.12.110 and later"),
    "linux-6.18": (MODERN_RELEASE, "Linux 6.18 as this machine runs it (6.18.44): the same as modern"),
    "linux-6.18.15": ("6.18.15", "Debian's 6.18.15 (trixie-backports): 6.18 before 1d3f9bb4c8af"),
}


def _alias(name: str, release: str, says: str) -> Policy:
    return build(name, release, frozenset(commits_of(release)), says)


MODERN = _alias("modern", MODERN_RELEASE, f"Linux {MODERN_RELEASE} (this machine): the commits it carries")

#: in historical order; then today's kernel and the older names of real kernels
POLICIES: dict[str, Policy] = {p.name: p for p in (UNRESERVED, DOUBLE_CREDIT, REGION_COUNT, LINUX_2_6_27, MODERN)}
POLICIES.update((name, _alias(name, release, says)) for name, (release, says) in ALIASES.items())
DEFAULT = "modern"
#: what --policy accepts besides the names
KERNEL_NAMES = "linux-RELEASE (e.g. linux-6.12.107, with Debian's suffix or not), +ID/-ID to add or drop a commit"


def policy_for_kernel(release: str, upstream: str = "") -> str:
    """The policy of a running kernel: ``linux-VERSION`` (``6.12.117+deb12-cloud-amd64`` -> ``linux-6.12.117``).

    ``upstream``: the version behind a Debian ABI name (``6.1.0-57-cloud-amd64``
    is 6.1.192), as the guest's ``uname -v`` says it. ValueError when
    neither gives a version the commit table covers.
    """
    m = re.match(r"(\d+\.\d+(?:\.\d+)?)", upstream or release)
    if not m or (not upstream and re.match(r"\d+\.\d+\.0-\d+", release)):
        raise ValueError(f"Linux {release}: no upstream version known for it")
    name = f"linux-{m.group(1)}"
    get_policy(name)  # the table must cover it
    return name


def get_policy(policy: str | Policy) -> Policy:
    """A policy by name (or the policy itself); ValueError names the choices."""
    if isinstance(policy, Policy):
        return policy
    found = POLICIES.get(policy)
    if found is not None:
        return found
    if not policy.startswith("linux-"):
        raise ValueError(f"unknown policy {policy!r}; choose one of: {', '.join(POLICIES)}, or {KERNEL_NAMES}")
    return kernel_policy(policy)


__all__ = ["DEFAULT", "FEATURES", "KERNEL_NAMES", "POLICIES", "Close", "PageState", "Policy", "check_supported",
           "get_policy", "policy_for_kernel"]
