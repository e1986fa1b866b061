"""A kernel engineer's tools on top of :func:`hugelab.replay`: ``verify`` (the model against a real
kernel), ``hunt`` (random traces until an invariant breaks, or two kernels part), ``matrix``
(behaviours x kernels) and ``tables`` (every table hugelab prints)."""
