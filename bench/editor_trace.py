"""A day of the shipping editor's own calls, as an operation log for ``trace.replay_both``.

``day-v1`` (``trace.py``) is a model of a working day built from the protocol's calls. This
one is built from what the shipping front end and backend really call (upstream
``RenTonoduka/AIT42-Editor`` main), flow by flow:

- **The board** loads every session (``loadSessions`` → ``get_all_sessions``) and filters and
  sorts in the web view; it never asks the store to filter, count, list or search.
- **A competition or an ensemble** is created twice under one id: the dialog's
  ``createSession`` (instance ids from 1, its settings) and its ``loadSessions``, then
  ``App.tsx``'s ``createSession`` of the same id (instance ids from 0, other branch and agent
  names). The contract refuses the second (``AlreadyExistsError``) where the editor's store
  appends; the trace expects the refusal from every store.
- **A debate** is written by the debate runner (``update_status``: update or insert of a
  session with task ``Debate in progress``, no instances, status ``round_1``..``round_3``
  then ``completed``; here ``upsert_session``) and created by ``App.tsx`` after the runner's
  first write (refused, as above).
- **ChatPanel** stores the instance's whole tmux scrollback as a ``system`` message each time a
  chat is opened (its duplicate check never matches), and a user message then the captured
  scrollback as the ``assistant`` reply for each line the user sends: messages of tens to
  hundreds of KB, repeating earlier ones.
- **The kanban board** loads every session on mount and moves one by ``update_session`` of
  the whole session (its chat history included); **winner selection** sets ``winnerId`` the
  same way.
- No shipping component calls ``delete_session`` or ``update_instance_status``, and the store
  has no search command: the trace has none.

``generate`` writes ``bench/traces/editor-v1.jsonl`` (deterministic for its seed).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

from .text import TASK_TEMPLATES, corpus
from .workloads import format_time

__all__ = ["EDITOR_TRACE_FILE", "generate", "ensure"]

EDITOR_TRACE_FILE = Path(__file__).parent / "traces" / "editor-v1.jsonl"
_DAY = dt.datetime(2030, 1, 8, 8, 30, tzinfo=dt.timezone.utc)
RUNNER_TASK = "Debate in progress"  # ait42.rs, execute_debate_rounds
SCROLLBACK_MAX = 200 * 1024  # about tmux's 2,000 lines of history
REFUSED = "AlreadyExistsError"


class _EditorDay:
    """The day's calls in time order, and the sessions as the store holds them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"editor-trace:{seed}")
        self.text = corpus(seed)
        self.clock = _DAY
        self.ops: list[dict[str, Any]] = []
        self.stored: dict[str, dict[str, Any]] = {}  # the copy the commands act on
        self.scrollback: dict[tuple[str, int], int] = {}  # bytes of each instance's history
        self.counter = 0

    def now(self, style: str, low: int = 2, high: int = 90) -> str:
        self.clock += dt.timedelta(seconds=self.rng.randrange(low, high))
        return format_time(self.clock, style, self.rng)

    def emit(self, op: str, **args: Any) -> None:
        self.ops.append({"op": op, **json.loads(json.dumps(args))})

    # --- flows ---------------------------------------------------------------------------

    def load(self) -> None:
        self.emit("get_all_sessions")

    def start_parallel(self, kind: str) -> str:
        """The dialog's create and loadSessions, then App.tsx's create of the same id."""
        rng = self.rng
        self.counter += 1
        sid = f"editor-{kind}-{self.counter:03d}"
        task = rng.choice(TASK_TEMPLATES)
        runtimes = [rng.choice(["claude", "codex", "gemini"]) for _ in range(rng.randint(2, 5))]
        created = self.now("backend")
        dialog = self._session(sid, kind, task, created)
        dialog.update(
            timeoutSeconds=rng.choice([300, 600, 1800]),
            preserveWorktrees=rng.random() < 0.3,
            runtimeMix=runtimes,
            instances=[
                self._instance(sid, n + 1, runtime, runtime, f"{runtime}-{kind}-{n + 1}")
                for n, runtime in enumerate(runtimes)
            ],
        )
        self.stored[sid] = dialog
        self.emit("create_session", session=dialog)
        self.load()
        app = self._session(sid, kind, task, self.now("frontend", 3, 10))
        app.update(
            runtimeMix=sorted(set(runtimes)),
            instances=[
                self._instance(
                    sid, n, runtime, f"{task[:47]}... #{n + 1}", f"{runtime}-{kind}-{sid}-{n + 1}"
                )
                for n, runtime in enumerate(runtimes)
            ],
        )
        self.emit("create_session", session=app, expect=REFUSED)
        return sid

    def start_debate(self) -> str:
        """The runner's first write, then App.tsx's create of the same id."""
        self.counter += 1
        sid = f"editor-debate-{self.counter:03d}"
        started = self.now("backend")
        self.runner_round(sid, "round_1", started)
        board = self._session(sid, "debate", self.rng.choice(TASK_TEMPLATES), started)
        board["instances"] = [
            self._instance(sid, n, "claude", role, f"debate-{sid}") for n, role in
            enumerate(["Architect", "Pragmatist", "Innovator"])
        ]  # fmt: skip
        self.emit("create_session", session=board, expect=REFUSED)
        return sid

    def runner_round(self, sid: str, status: str, started: str | None = None) -> None:
        """``update_status``: the runner's whole session, update or insert by id."""
        created = started or self.stored[sid]["createdAt"]
        updated = self.now("backend", 60, 400)
        session = self._session(sid, "debate", RUNNER_TASK, created)
        session.update(
            status=status, updatedAt=updated,
            completedAt=updated if status == "completed" else None,
            totalFilesChanged=0, totalLinesAdded=0, totalLinesDeleted=0,
        )  # fmt: skip
        self.stored[sid] = session
        self.emit("upsert_session", session=session)

    def open_chat(self, sid: str) -> None:
        """ChatPanel on mount: the instance's whole scrollback as a system message."""
        session = self.stored[sid]
        if not session["instances"]:
            return
        instance = self.rng.choice(session["instances"])["instanceId"]
        history = self._grown(sid, instance)
        self._message(sid, "system", f"📜 Tmux Session History:\n\n{history}", instance, "history")

    def exchange(self, sid: str) -> None:
        """ChatPanel's send: the user's line, then the captured scrollback as the reply."""
        session = self.stored[sid]
        if not session["instances"]:
            return
        instance = self.rng.choice(session["instances"])["instanceId"]
        line = self.text.message(self.rng, self.rng.randrange(20, 240))
        self._message(sid, "user", line, instance, "msg")
        self._message(sid, "assistant", self._grown(sid, instance), instance, "msg")

    def drag(self, sid: str, status: str) -> None:
        """The kanban board mounts (loadSessions), then moves the session to a column."""
        self.load()
        session = self.stored[sid]
        now = self.now("frontend", 5, 60)
        session.update(status=status, updatedAt=now)
        if status == "completed":
            session["completedAt"] = now
        self.emit("update_session", session=session)

    def pick_winner(self, sid: str) -> None:
        session = self.stored[sid]
        session.update(
            winnerId=self.rng.choice(session["instances"])["instanceId"],
            status="completed", updatedAt=self.now("frontend", 5, 60),
        )  # fmt: skip
        self.emit("update_session", session=session)

    # --- the day -------------------------------------------------------------------------

    def run(self) -> list[dict[str, Any]]:
        rng = self.rng
        self.load()  # the editor opens on the board
        for hour in range(9):
            kinds = ["competition", "ensemble", "debate"]  # debates are as common in the files
            started = []
            for _ in range(rng.randint(0, 2) if hour else 1):
                kind = rng.choice(kinds)
                started.append(self.start_debate() if kind == "debate" else self.start_parallel(kind))
            for sid in started:
                debate = sid.startswith("editor-debate")
                rounds = iter(["round_2", "round_3", "completed"])
                for _ in range(rng.randint(2, 5)):
                    if debate:
                        status = next(rounds, None)
                        if status:
                            self.runner_round(sid, status)
                        continue
                    self.open_chat(sid)
                    for _ in range(rng.randint(0, 2)):
                        self.exchange(sid)
                if debate:
                    for status in rounds:
                        self.runner_round(sid, status)
                    continue
                self.drag(sid, rng.choice(["completed", "completed", "paused", "failed"]))
                if sid.startswith("editor-competition") and rng.random() < 0.7:
                    self.pick_winner(sid)
            self.load()  # back to the board
        return self.ops

    # --- records -------------------------------------------------------------------------

    def _session(self, sid: str, kind: str, task: str, created: str) -> dict[str, Any]:
        return {
            "id": sid, "type": kind, "task": task, "status": "running",
            "createdAt": created, "updatedAt": created, "completedAt": None,
            "instances": [], "chatHistory": [], "model": None, "timeoutSeconds": None,
            "preserveWorktrees": None, "winnerId": None, "runtimeMix": None,
            "totalDuration": None, "totalFilesChanged": None, "totalLinesAdded": None,
            "totalLinesDeleted": None,
        }  # fmt: skip

    def _instance(
        self, sid: str, n: int, runtime: str, agent: str, branch: str
    ) -> dict[str, Any]:
        return {
            "instanceId": n, "worktreePath": f"/home/dev/project/.worktrees/{sid}-{n}",
            "branch": branch, "agentName": agent,
            "status": "running", "tmuxSessionId": f"ait42-{sid}-{n}", "output": None,
            "startTime": self.now("frontend", 0, 2), "endTime": None, "filesChanged": None,
            "linesAdded": None, "linesDeleted": None, "runtime": runtime, "model": None,
            "runtimeLabel": None,
        }  # fmt: skip

    def _grown(self, sid: str, instance: int) -> str:
        """The instance's scrollback now: larger at every capture, up to tmux's history."""
        size = self.scrollback.get((sid, instance), self.rng.randrange(4_000, 20_000))
        size = min(SCROLLBACK_MAX, size + self.rng.randrange(5_000, 40_000))
        self.scrollback[sid, instance] = size
        return self.text.output(random.Random(f"{sid}:{instance}"), size)

    def _message(self, sid: str, role: str, content: str, instance: int, prefix: str) -> None:
        session = self.stored[sid]
        message = {
            "id": f"{prefix}-{instance}-{len(session['chatHistory'])}-{sid}",
            "role": role, "content": content, "timestamp": self.now("frontend", 1, 20),
            "instanceId": instance,
        }  # fmt: skip
        session["chatHistory"].append(message)
        session["updatedAt"] = message["timestamp"]  # the store sets it to now; close enough
        self.emit("add_chat_message", id=sid, message=message)


def generate(path: Path = EDITOR_TRACE_FILE, seed: int = 11) -> Path:
    """Write the day's calls as JSON Lines; the path."""
    ops = _EditorDay(seed).run()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for op in ops:
            out.write(json.dumps(op, ensure_ascii=False) + "\n")
    return path


def ensure(path: Path = EDITOR_TRACE_FILE) -> Path:
    """The trace file, generated first if it is missing."""
    return path if path.exists() else generate(path)
