"""replay() pauses the cycle collector: it must leave no cycles and restore the collector."""

import gc
import random

import pytest

from hugelab import POLICIES, replay
from hugelab.trace.generate import random_trace
from hugelab.trace.language import TraceError


@pytest.mark.parametrize("policy", POLICIES)
def test_replays_make_no_reference_cycles(policy):
    # Random traces reach every path: deaths by signal, COW, evictions,
    # pool shrinks, skipped lines; and one long live trace with forks.
    texts = [random_trace(random.Random(seed), 120, max_pages=12, max_pool=24) for seed in range(60)]
    texts.append(random_trace(random.Random(1), 3000, max_pages=64, max_pool=10_000, min_pool=5_000, live=True))
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for text in texts:
            replay(text, policy)
        gc.collect()
        garbage = [type(o).__name__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert garbage == [], f"replay under {policy} left reference cycles: {garbage[:10]}"


@pytest.mark.parametrize("enabled", [True, False])
def test_replay_restores_the_collector_as_it_found_it(enabled):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        replay("mmap a 2 private\ntouch a 0\n")
        assert gc.isenabled() is enabled
        with pytest.raises(TraceError):
            replay("mmap a 2 private\ntouch b 0\n")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


# -- one driver: every replay on the model goes through ModelReplay, which checks era support
def test_only_the_driver_builds_a_model_and_feeds_it():
    """No module hand-rolls Model + Replayer: a second driver would be a second place that can
    forget the era check (five did, before)."""
    import re
    from pathlib import Path
    package = Path(__file__).resolve().parents[1] / "hugelab"
    hand_rolled = [f"{p.relative_to(package)}:{n}" for p in sorted(package.rglob("*.py")) if p.name != "replay.py"
                   for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                   if re.search(r"\b(Model|Replayer)\(", line) and not line.lstrip().startswith(("class ", "#"))]
    assert hand_rolled == []


@pytest.mark.parametrize("use", ["replay", "walk", "exercise", "explorer", "lessons"])
def test_every_front_end_refuses_what_the_era_lacked_before_running_a_line(use):
    from hugelab.replay import ModelReplay
    from hugelab.teaching.exercise import _replay_watching
    from hugelab.teaching.explorer import Explorer
    from hugelab.teaching.walkthrough import walk
    from hugelab.trace.language import TraceError, parse_trace

    text = "pool 8\nmmap a 1 private\nmemfd m\n"  # memfd came with 4.14: 2.6.27 never had it
    run = {"replay": lambda: replay(text, "region-count"),
           "walk": lambda: walk(text, "region-count"),
           "exercise": lambda: _replay_watching(parse_trace(text), "region-count"),
           "explorer": lambda: Explorer(policies=("region-count", "modern")).load(text),
           "lessons": lambda: ModelReplay("region-count", parse_trace(text))}[use]
    with pytest.raises(TraceError, match=r"line 3: .*region-count"):
        run()


def test_feeding_a_line_the_era_lacked_changes_nothing():
    from hugelab.replay import ModelReplay
    from hugelab.trace.language import TraceError, parse_trace

    run = ModelReplay("double-credit")
    ops = parse_trace("pool 8\nmmap a 1 private\nmemfd m\n").ops
    for op in ops[:2]:
        run.feed(op)
    before = run.model.counters()
    with pytest.raises(TraceError):
        run.feed(ops[2])
    assert run.model.counters() == before and not run.model.inodes
