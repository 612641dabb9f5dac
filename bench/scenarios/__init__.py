"""The measured operations, one ``Scenario`` object each.

Each is one call through the ``SessionRepository`` protocol, the same on the JSON store and
the SQLite store, with its case on each floor too (``base``). ``reads`` and ``writes`` hold
the scenarios; ``data`` what they ask of a workload. To add a scenario, add one object to
``reads.py`` or ``writes.py`` and to its module's tuple (see ``bench/README.md``).

The seed's targets (``target_ratio``: JSON time / SQLite time; ``target_ms``: SQLite time at
100 sessions) are attached to the scenario that measures that row of its table.
"""

from __future__ import annotations

from .base import Case, Context, Scenario, expect
from .data import SCENARIOS_VERSION, QueryPlan, query_plan, scenario_data
from .reads import READS
from .writes import WRITES

__all__ = [
    "SCENARIOS",
    "SCENARIOS_VERSION",
    "TRACE_SCENARIO",
    "Case",
    "Context",
    "QueryPlan",
    "Scenario",
    "expect",
    "query_plan",
    "scenario_data",
]

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (*READS, *WRITES)}
# Which scenario's measured cost stands for each operation of the day trace.
TRACE_SCENARIO: dict[str, str] = {
    op: s.name for s in SCENARIOS.values() for op in s.trace_ops
}
