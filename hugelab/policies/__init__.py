"""The four policies, one era of the kernel each. See each module's docstring."""

from __future__ import annotations

from .base import Close, Policy
from .double_credit import POLICY as DOUBLE_CREDIT
from .modern import POLICY as MODERN
from .region_count import POLICY as REGION_COUNT
from .unreserved import POLICY as UNRESERVED

#: in historical order
POLICIES: dict[str, Policy] = {p.name: p for p in (UNRESERVED, DOUBLE_CREDIT, REGION_COUNT, MODERN)}
DEFAULT = "modern"


def get_policy(policy: str | Policy) -> Policy:
    """A policy by name (or the policy itself); ValueError names the choices."""
    if isinstance(policy, Policy):
        return policy
    try:
        return POLICIES[policy]
    except KeyError:
        raise ValueError(f"unknown policy {policy!r}; choose one of: {', '.join(POLICIES)}") from None


__all__ = ["DEFAULT", "POLICIES", "Close", "Policy", "get_policy"]
