"""statfs in step records, computed step by step only where it may have changed.

The model re-reads only the mounts noted by ``mount``, ``umount`` and their
subpools; a kernel replay asks only the mounts :class:`StatfsKeeper` notes
from the lines. Both must give, at every step, what reading every mount
would give.
"""

import random

import pytest

from hugelab.model import Model
from hugelab.realkernel.machine import StatfsKeeper
from hugelab.replay import Replayer
from hugelab.trace import parse_trace
from hugelab.trace.generate import random_v2_trace


def every_mount(model: Model) -> dict[str, tuple[int, int]]:
    return {name: sb.statfs() for name, sb in model.mounts.items() if sb.statfs() is not None}


@pytest.mark.parametrize("policy", ["modern", "linux-6.18.15", "region-count"])
def test_records_carry_what_reading_every_mount_gives(policy):
    for seed in range(150):
        trace = parse_trace(random_v2_trace(random.Random(seed), 60, min_size=policy != "region-count",
                                            since_2008=policy != "region-count"))
        model = Model(policy)
        replayer = Replayer(model, statfs=trace.sized_mounts)
        for op in trace:
            step = replayer.feed(op)
            if step.mounts is not None:
                assert step.mounts == every_mount(model), (seed, op.text)
                assert list(step.mounts) == list(every_mount(model)), (seed, op.text)  # in mount order


def test_the_kernel_side_notes_every_mount_a_step_changes():
    """Fed the model's statfs of only the mounts it noted, the keeper always holds every mount's."""
    for seed in range(400):
        trace = parse_trace(random_v2_trace(random.Random(seed), 80))
        model, keeper = Model("modern"), StatfsKeeper()
        replayer = Replayer(model, statfs=False)
        for op in trace:
            step = replayer.feed(op)
            if step.error != "skipped":  # a skipped line reaches no machine
                keeper.after(op, step.error)
            if keeper.stale:
                full = every_mount(model)
                keeper.update({name: full[name] for name in keeper.stale if name in full})
            assert keeper.answer == every_mount(model), (seed, op.text)
            assert keeper.sized_made == model.sized_mounts


def test_a_step_re_reads_only_the_mounts_it_touched():
    trace = parse_trace("pool 8\n" + "".join(f"mount m{i} size=4\n" for i in range(64))
                        + "file f on m3\nmmap a 2 shared file f\ntouch a 0\nmmap b 1 private\ntouch b 0\n")
    keeper = StatfsKeeper()
    noted = []
    for op in trace:
        keeper.after(op, None)
        noted.append(set(keeper.stale))
        keeper.update({})
    assert noted[-5:] == [set(), {"m3"}, {"m3"}, set(), set()]


def test_a_model_record_equals_the_kernels_dict_either_way():
    from hugelab.replay import replay

    step = replay("pool 4\nmount q size=3\nmount r size=2\nfile f on q\nmmap a 1 shared file f\n")[-1]
    kernel = {"q": (3, 2), "r": (2, 2)}
    assert step.mounts == kernel and kernel == step.mounts and step.mounts != {"q": (3, 3), "r": (2, 2)}
    assert dict(step.mounts) == kernel and list(step.mounts) == ["q", "r"]
    assert step.as_dict()["mounts"] == {"q": {"size": 3, "free": 2}, "r": {"size": 2, "free": 2}}
