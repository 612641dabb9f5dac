"""Repeated ids: the copies of one session id in a workspace, and the two patterns the
shipping editor makes, each resolved by a written rule.

The editor's ``create_session`` appends, so a session created twice under one id is in its
file twice; its commands act on the first copy from then on. Two flows do that (upstream
main): the competition and ensemble dialogs create a session and then ``App.tsx`` creates the
same id again (the double create), and a debate is written both by the debate runner and by
``App.tsx`` (the debate pair). ``classify`` recognises those two and says what the session
becomes; anything else is shown, not guessed. The stores group the copies
(``repo.duplicates``) and apply the resolutions (``repo.resolve_duplicates``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from .models import WorktreeSession
from .timestamps import to_instant_ns

__all__ = [
    "DEBATE_PAIR",
    "DOUBLE_CREATE",
    "OTHER",
    "RULES",
    "RUNNER_TASK",
    "DuplicateGroup",
    "classify",
    "group_of",
]

DOUBLE_CREATE = "double create"
DEBATE_PAIR = "debate pair"
OTHER = "other"

# The task the debate runner writes (upstream ait42.rs, execute_debate_rounds).
RUNNER_TASK = "Debate in progress"

RULES = {
    DOUBLE_CREATE: (
        "The dialog and then App.tsx create the session under one id; the editor's commands "
        "act on the first copy from then on, so every later change is in it. When every later "
        "copy has the first's type and task, holds no messages and was never written after it "
        "was created (its updatedAt is its createdAt), or equals the first, the later copies "
        "are dropped and the first stays as it is."
    ),
    DEBATE_PAIR: (
        "The debate runner and App.tsx each write the debate under one id: the runner's copy "
        "(task 'Debate in progress', no instances, no messages) holds the runner's status and "
        "times, the board's copy the user's task, the instances and the messages. The two "
        "become one session in the first copy's place: the board's copy, with status, "
        "updatedAt and completedAt from whichever copy was updated last."
    ),
    OTHER: "Shown, not resolved: no rule says which copy holds what.",
}


@dataclass(frozen=True)
class DuplicateGroup:
    """The copies of one id in one workspace, in file order (the first is the one the
    commands act on), the pattern they make, and what the session becomes when it is
    resolved (None for ``OTHER``)."""

    workspace_hash: str
    session_id: str
    copies: list[WorktreeSession]
    pattern: str
    resolution: WorktreeSession | None = field(default=None, compare=False)

    @property
    def rule(self) -> str:
        return RULES[self.pattern]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` output: the copies in the editor's JSON shape."""
        return {
            "workspaceHash": self.workspace_hash,
            "sessionId": self.session_id,
            "pattern": self.pattern,
            "rule": self.rule,
            "copies": [copy.to_json() for copy in self.copies],
            "resolution": None if self.resolution is None else self.resolution.to_json(),
        }


def group_of(workspace_hash: str, session_id: str, copies: list[WorktreeSession]) -> DuplicateGroup:
    """The group of one id's copies (file order), classified."""
    pattern, resolution = classify(copies)
    return DuplicateGroup(workspace_hash, session_id, copies, pattern, resolution)


def classify(copies: list[WorktreeSession]) -> tuple[str, WorktreeSession | None]:
    """(pattern, what the session becomes) for the copies of one id, in file order."""
    first, later = copies[0], copies[1:]
    if all(_never_written_twin(first, copy) for copy in later):
        return DOUBLE_CREATE, first
    if len(copies) == 2:
        runner = [copy for copy in copies if _runners(copy)]
        board = [copy for copy in copies if not _runners(copy)]
        if len(runner) == 1 and len(board) == 1 and board[0].type == "debate":
            return DEBATE_PAIR, _merged(board[0], runner[0])
    return OTHER, None


def _never_written_twin(first: WorktreeSession, copy: WorktreeSession) -> bool:
    if copy.to_json() == first.to_json():
        return True
    return (
        copy.type == first.type
        and copy.task == first.task
        and not copy.chat_history
        and copy.updated_at == copy.created_at
    )


def _runners(copy: WorktreeSession) -> bool:
    return (
        copy.type == "debate"
        and copy.task == RUNNER_TASK
        and not copy.instances
        and not copy.chat_history
    )


def _merged(board: WorktreeSession, runner: WorktreeSession) -> WorktreeSession:
    latest = max(
        (runner, board), key=lambda copy: to_instant_ns(copy.updated_at, "updatedAt")
    )
    return msgspec.structs.replace(
        board,
        status=latest.status,
        updated_at=latest.updated_at,
        completed_at=latest.completed_at,
    )
