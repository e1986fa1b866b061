"""hugelab: how Linux counts hugetlb page reservations, and the 2008 bug that split them.

The core (this package minus ``widgets`` and ``charts``) imports only the
standard library.
"""

from .model.hstate import Counters, u64
from .model.machine import Model
from .model.policies import DEFAULT, POLICIES, get_policy
from .replay import Step, replay
from .trace.language import Trace, TraceError, parse_trace

__version__ = "0.1.0"

__all__ = ["DEFAULT", "POLICIES", "Counters", "Model", "Step", "Trace", "TraceError",
           "get_policy", "parse_trace", "replay", "u64"]
