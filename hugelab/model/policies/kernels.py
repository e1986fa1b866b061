"""A policy per kernel release: the commits it carries (:mod:`hugelab.model.commits`), as settings.

``linux-6.12.107`` (Debian's ``linux-6.12.107+deb12-cloud-amd64`` too)
names the policy of the commits Linux 6.12.107 carries. A name may add or
drop commits, one ``+ID`` or ``-ID`` each (an id prefix of 7+ hex digits,
or a short name such as ``rollback-fix``): ``linux-6.18.44+rollback-fix``
is "6.18.44 had it got the rollback fix", ``linux-7.3.4-rollback-fix`` the
other way round. A commit set picks its era's hooks by its structural
commits (none: ``unreserved``; a1e78772: the count of ``double-credit``;
84afd99b: the region map, 2008's rules for a 2.6 release, else
:class:`~.modern.Modern`) and sets every setting from its commits, in the
table's order. The model never asks which release it is.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..commits import COMMITS, UnknownRelease, commits_of, find, version
from .base import FEATURES, Policy
from .double_credit import DoubleCredit
from .modern import Modern
from .region_count import RegionCount
from .unreserved import Unreserved

#: every setting a commit may set, with its value before any commit (2.6.26's)
SETTINGS: dict[str, object] = {key: getattr(Policy, key) for key in sorted({k for c in COMMITS for k in c.settings})}


def settings_of(commit_ids: frozenset[str]) -> dict[str, object]:
    """The settings a commit set makes: each commit's, in the table's order, over 2.6.26's."""
    settings = dict(SETTINGS)
    for commit in COMMITS:
        if commit.id in commit_ids:
            settings.update(commit.settings)
    return settings


def missing_of(commit_ids: frozenset[str]) -> frozenset[str]:
    """The trace-v2 features a commit set lacks."""
    have = set().union(*(c.features for c in COMMITS if c.id in commit_ids))
    return frozenset(FEATURES) - have


def era_class(commit_ids: frozenset[str], release: str) -> type[Policy]:
    """The hooks a commit set runs: its structural commits, and 2008's rules for a 2.6 release."""
    if "a1e78772d72b" not in commit_ids:
        return Unreserved
    if "84afd99b8398" not in commit_ids:
        return DoubleCredit
    return RegionCount if version(release) < (2, 7) else Modern


def build(name: str, release: str, commit_ids: frozenset[str], reproduces: str, user_sees: str = "") -> Policy:
    """A policy for ``commit_ids`` on ``release``'s era, called ``name``."""
    policy = era_class(commit_ids, release)()
    policy.name = name
    policy.reproduces = reproduces
    policy.user_sees = user_sees or f"what Linux {release} shows, commit for commit"
    policy.commits = commit_ids
    for key, value in settings_of(commit_ids).items():
        setattr(policy, key, value)
    policy.missing = missing_of(commit_ids)
    return policy


def parse_name(name: str) -> tuple[str, list[tuple[str, str]]]:
    """``("6.18.44+deb13-cloud-amd64", [("+", id), ...])`` for ``linux-6.18.44+deb13-cloud-amd64+rollback-fix``.

    ValueError (one line) when the name is not a release with commit edits.
    """
    m = re.fullmatch(r"linux-(\d+\.\d+(?:\.\d+)?(?:-\d+(?![0-9a-f]))?(?:\+deb\d+)?(?:-cloud-amd64|-amd64)?)(.*)", name)
    if not m:
        raise ValueError(f"not a kernel policy name: {name!r} (e.g. linux-6.12.107, linux-6.18.44+rollback-fix)")
    release, rest = m.groups()
    edits = []
    while rest:
        e = re.match(r"([+-])([0-9a-f]{7,40}|[a-z]+-fix)", rest)
        if not e:
            raise ValueError(f"{name!r}: after the release, only +ID or -ID (a commit to add or drop), "
                             f"not {rest!r}")
        edits.append((e.group(1), find(e.group(2)).id))
        rest = rest[e.end():]
    return release, edits


@lru_cache(maxsize=64)
def kernel_policy(name: str, upstream: str = "") -> Policy:
    """The policy ``name`` (``linux-RELEASE[+ID|-ID...]``) means; ValueError (one line) if none.

    ``upstream``: the upstream version behind a Debian ABI name
    (``6.1.0-57-cloud-amd64`` is 6.1.192), which the name cannot say.
    """
    release, edits = parse_name(name)
    if re.match(r"\d+\.\d+\.0-\d+", release) and not upstream:
        raise ValueError(f"{name!r}: Debian's ABI name hides the upstream release; name it "
                         f"(linux-6.1.192) or see 'hugelab kernels --all'")
    upstream = upstream or release
    try:
        carried = commits_of(upstream)
    except UnknownRelease as e:
        raise ValueError(str(e)) from None
    ids = set(carried)
    for sign, commit_id in edits:
        (ids.add if sign == "+" else ids.discard)(commit_id)
    changed = "".join(f" {sign}{find(cid).short}" for sign, cid in edits)
    return build(name, upstream, frozenset(ids), f"Linux {upstream}: the {len(carried)} commits it carries{changed}")


def explain(release: str) -> list[str]:
    """One line per tabled commit: carried or not by ``release``, and why (for ``hugelab policies``)."""
    carried = commits_of(release)
    lines = []
    for commit in COMMITS:
        why = carried.get(commit.id)
        mark = "+" if why else "-"
        lines.append(f"  {mark} {commit.short:12}  {why or 'not carried':30}  {commit.subject}")
    return lines
