"""The policies: four eras of the kernel, and one per real kernel measured. See each module's docstring."""

from __future__ import annotations

import re

from .base import FEATURES, Close, PageState, Policy, check_supported
from .double_credit import POLICY as DOUBLE_CREDIT
from .linux_6_1 import POLICY as LINUX_6_1
from .linux_6_12 import POLICY as LINUX_6_12
from .linux_6_18 import POLICY as LINUX_6_18
from .linux_6_18_15 import POLICY as LINUX_6_18_15
from .modern import POLICY as MODERN
from .region_count import POLICY as REGION_COUNT
from .unreserved import POLICY as UNRESERVED

#: in historical order; then one per real kernel measured (``modern`` is the newest)
POLICIES: dict[str, Policy] = {p.name: p for p in (UNRESERVED, DOUBLE_CREDIT, REGION_COUNT, MODERN,
                                                   LINUX_6_1, LINUX_6_12, LINUX_6_18, LINUX_6_18_15)}
DEFAULT = "modern"


def policy_for_kernel(release: str) -> str:
    """The policy made for a kernel release (``6.12.117+deb12-cloud-amd64`` -> ``linux-6.12``), else modern.

    A policy made for one measured release (``kernel_releases``) comes before its series' own.
    """
    m = re.match(r"((\d+\.\d+)(?:\.\d+)?)", release)
    version, series = m.groups() if m else ("", "")
    exact = next((name for name, p in POLICIES.items() if version in p.kernel_releases), None)
    if exact:
        return exact
    return next((name for name, p in POLICIES.items() if p.kernel_series and p.kernel_series == series), DEFAULT)


def get_policy(policy: str | Policy) -> Policy:
    """A policy by name (or the policy itself); ValueError names the choices."""
    if isinstance(policy, Policy):
        return policy
    try:
        return POLICIES[policy]
    except KeyError:
        raise ValueError(f"unknown policy {policy!r}; choose one of: {', '.join(POLICIES)}") from None


__all__ = ["DEFAULT", "FEATURES", "POLICIES", "Close", "PageState", "Policy", "check_supported", "get_policy",
           "policy_for_kernel"]
