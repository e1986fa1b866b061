"""``hugelab policies``: the eras, the named kernels and the commits; for a release, which it carries and why."""

from __future__ import annotations

import sys
from typing import TextIO

from ..model.commits import COMMITS, UnknownRelease, commits_of
from ..model.policies import ALIASES, POLICIES, get_policy
from ..model.policies.kernels import parse_name


def report(release: str | None, out: TextIO) -> int:
    """Print the table (no release), or what ``release`` carries; 2 for a release hugelab cannot name."""
    if release:
        return _release(release, out)
    print("eras (each exact to its 2008 source: mm/hugetlb.c at that commit or tag):", file=out)
    for name in ("unreserved", "double-credit", "region-count", "linux-2.6.27"):
        print(f"  {name:14} {POLICIES[name].reproduces}", file=out)
    print("kernels:", file=out)
    print(f"  {'modern':14} {POLICIES['modern'].reproduces}", file=out)
    for name, (rel, says) in ALIASES.items():
        print(f"  {name:14} = linux-{rel}: {says}", file=out)
    print("  linux-RELEASE  any release of 2.6.26-2.6.27 or 5.10-7.3 (Debian's suffix allowed): the commits it "
          "carries;\n                 +ID or -ID after it adds or drops one (linux-6.18.44+rollback-fix)", file=out)
    print("commits (mainline; stable backports):", file=out)
    for c in COMMITS:
        ports = ", ".join(f"{p.series}.y from {p.first}" if p.first else f"{p.series}.y after {p.lacking}?"
                          for p in c.backports)
        print(f"  {c.short:12}  {c.mainline or '?':6} {ports and '(' + ports + ') '}{c.subject}", file=out)
        print(f"                {c.changes}", file=out)
    return 0


def _release(release: str, out: TextIO) -> int:
    name = release if release.startswith("linux-") or release in POLICIES else f"linux-{release}"
    try:
        policy = get_policy(name)
        upstream = parse_name(name)[0] if name.startswith("linux-") and name not in POLICIES else ""
        carried = commits_of(upstream) if upstream else {}
    except (ValueError, UnknownRelease) as e:
        print(f"hugelab: {e}", file=sys.stderr)
        return 2
    print(f"{policy.name}: {policy.reproduces}", file=out)
    for c in COMMITS:
        has = c.id in policy.commits
        if not upstream:
            why = "carried" if has else "not carried"
        elif has:
            why = carried.get(c.id, "added by the name")
        else:
            why = "dropped by the name" if c.id in carried else "not carried"
        print(f"  {'+' if has else '-'} {c.short:12}  {why:34}  {c.subject}", file=out)
    return 0
