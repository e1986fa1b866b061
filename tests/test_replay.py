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
