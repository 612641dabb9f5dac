"""What a scenario is: one operation, measured on every backend, its answer checked.

A ``Scenario`` carries everything about one measured operation: its name and the call the
report shows, the seed's targets for it, and three ways to make its ``Case`` - on a
repository (the JSON store or the SQLite store), on the SQLite store's floors (``SqlFloor``)
and on the JSON store's floor (``JsonFloor``) - plus the trace operations whose cost it stands
for. A ``Case`` binds it to one open backend: ``run`` is the timed call; ``before``/``after``
(untimed, around every call) put the store back to its stated size; ``check`` asserts that an
answer is the one the workload says it must be (``facts``), so a fast wrong answer cannot pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

from ..floors import SqlFloor
from ..json_floor import JsonFloor
from ..workloads import Workload
from .data import QueryPlan, query_plan

__all__ = ["Case", "Context", "Scenario", "expect"]


@dataclass
class Case:
    """One scenario on one open backend."""

    run: Callable[[], Any]
    check: Callable[[Any], None]
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None


@dataclass
class Context:
    """What a case is made from: the workload, what its scenarios ask (``data``, from
    ``scenario_data``) and the answers they must get (``facts``)."""

    workload: Workload
    data: dict[str, Any]
    facts: dict[str, Any]

    @property
    def workspace(self) -> str:
        return self.data["workspace"]

    @cached_property
    def plan(self) -> QueryPlan:
        return query_plan(self.workload)


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "read" | "write"
    call: str  # the call, as the report shows it
    on_repository: Callable[[Any, Context], Case]
    on_sql_floor: Callable[[SqlFloor, Context], Case]
    on_json_floor: Callable[[JsonFloor, Context], Case]
    trace_ops: tuple[
        str, ...
    ] = ()  # trace operations whose cost this scenario measures
    seed_row: str | None = None  # the row of the seed README's table it checks
    target_ratio: float | None = None  # JSON store / SQLite store, from the seed
    target_ms: float | None = None  # SQLite median at 100 sessions, from the seed
    opens_with_write: bool = False  # its case writes once before the first timed call
    # it leaves megabytes of output in the main workspace: runs after the other scenarios
    leaves_text_behind: bool = False
    write_p99_ms: float = 5.0  # issue 11's p99 target for a write (a typical session's)
    notes: dict[str, str] = field(default_factory=dict)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)
