"""Deterministic workloads: one workspace of N sessions plus background workspaces.

Every session is a pure function of (profile, seed, workspace, index): ``session_json(ws, k)``
regenerates session ``k`` without generating the others, so scenarios can name the stored
original of any session, and a new session (index >= N) is new in any store of that workload.
Sessions are dicts in the editor's JSON shape (camelCase), exactly what its files hold.

Profiles:

- ``light``: like the seed's fixture - short tasks and messages, 0-5 instances, 0-10 messages,
  no agent output, timestamps as ``2025-01-13T10:00:00Z``.
- ``realistic``: 1-10 instances with agent output log-normally sized around 8 KB (median;
  capped at 256 KB), 0-60 messages of about 600 characters, timestamps in both of the editor's
  formats (backend ``...00.123456789+00:00``, front end ``...00.123Z``). No keys beyond the
  editor's structs: its front end adds some, but serde drops them, so the files it writes have
  none (``tests/`` covers files that do).

Session ``k`` of a workspace is created about 30 minutes after session ``k - 1``, so a date range
given as fractions of N selects the same share of sessions at every scale.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
from dataclasses import dataclass
from typing import Any, Iterator

from ait42_session import compute_workspace_hash

from .text import AGENT_NAMES, TASK_TEMPLATES, corpus

__all__ = [
    "GENERATOR_VERSION",
    "PROFILES",
    "SCALES",
    "MAIN_WORKSPACE",
    "Workload",
]

# Bump whenever the output of this module changes: it keys the cache. 2: no front-end keys in
# realistic sessions (the editor's serde drops them, so its files never hold any).
GENERATOR_VERSION = 2
PROFILES = ("light", "realistic")
SCALES = (100, 1_000, 10_000, 100_000)
# Real folders, as the editor passes them: hashing an existing path resolves it (realpath), a
# cost every call of both stores pays. Their hash is part of the cache key, so a machine where
# the path resolves differently (e.g. /tmp is a symlink) builds its own stores.
WORKSPACE_ROOT = "/tmp/ait42-bench"
MAIN_WORKSPACE = f"{WORKSPACE_ROOT}/workspace"
BACKGROUND_WORKSPACES = (
    f"{WORKSPACE_ROOT}/background-1",
    f"{WORKSPACE_ROOT}/background-2",
)


def ensure_workspaces() -> None:
    """Create the workspace folders (empty; only their paths matter)."""
    for path in (MAIN_WORKSPACE, *BACKGROUND_WORKSPACES):
        os.makedirs(path, exist_ok=True)


_EPOCH = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
_SPACING_S = 1_800
_TYPES = (("competition", 0.5), ("ensemble", 0.3), ("debate", 0.2))
_STATUSES = (("completed", 0.65), ("failed", 0.15), ("paused", 0.1), ("running", 0.1))
_MODELS = (
    "claude-3-5-sonnet-20241022",
    "claude-sonnet-4-5",
    "gpt-5-codex",
    "gemini-2.5-pro",
)
_RUNTIMES = ("claude", "codex", "gemini")
_INSTANCE_STATUS_BY_SESSION = {
    "completed": ("completed", "completed", "completed", "failed", "archived"),
    "failed": ("failed", "completed", "failed"),
    "paused": ("paused", "idle", "completed"),
    "running": ("running", "running", "idle", "completed"),
}
OUTPUT_MEDIAN = 8 * 1024
OUTPUT_SIGMA = 1.0
OUTPUT_MAX = 256 * 1024
MESSAGE_MEDIAN = 600
MESSAGE_SIGMA = 0.6


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


def _lognormal(
    rng: random.Random, median: float, sigma: float, low: int, high: int
) -> int:
    return max(low, min(high, int(rng.lognormvariate(math.log(median), sigma))))


def format_time(instant: dt.datetime, style: str, rng: random.Random) -> str:
    """``instant`` as the seed fixture (``seed``), the backend or the front end writes it."""
    base = instant.strftime("%Y-%m-%dT%H:%M:%S")
    if style == "seed":
        return base + "Z"
    if style == "backend":
        return f"{base}.{rng.randrange(1_000_000_000):09d}+00:00"
    return f"{base}.{rng.randrange(1000):03d}Z"


@dataclass(frozen=True)
class Workload:
    """The sessions of one benchmark store: ``n`` in the main workspace, a tenth as background."""

    profile: str
    n: int
    seed: int = 42

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {self.profile!r}")
        if self.n < 1:
            raise ValueError("n must be positive")
        ensure_workspaces()  # every user of a workload needs the folders to exist

    # The workload travels to child processes as flags: ``to_args`` writes them,
    # ``add_arguments`` and ``from_args`` read them (``prefix`` for programs that own the
    # plain names, as pyperf owns --profile).
    def to_args(self, prefix: str = "") -> list[str]:
        return [f"--{prefix}profile", self.profile, f"--{prefix}sessions", str(self.n),
                f"--{prefix}seed", str(self.seed)]  # fmt: skip

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
        parser.add_argument(f"--{prefix}profile", choices=PROFILES, required=True)
        parser.add_argument(f"--{prefix}sessions", type=int, required=True)
        parser.add_argument(f"--{prefix}seed", type=int, default=42)

    @classmethod
    def from_args(cls, args: argparse.Namespace, prefix: str = "") -> "Workload":
        name = prefix.replace("-", "_")
        return cls(
            getattr(args, f"{name}profile"),
            getattr(args, f"{name}sessions"),
            getattr(args, f"{name}seed"),
        )

    @property
    def key(self) -> str:
        """Names the stores built from this workload (cache key)."""
        ws = compute_workspace_hash(MAIN_WORKSPACE)[:8]
        return f"{self.profile}-n{self.n}-s{self.seed}-g{GENERATOR_VERSION}-w{ws}"

    def workspaces(self) -> list[tuple[str, int]]:
        """(path, session count) of each workspace; the main workspace first."""
        background = max(5, self.n // 20)
        return [(MAIN_WORKSPACE, self.n)] + [
            (p, background) for p in BACKGROUND_WORKSPACES
        ]

    def created(self, k: int) -> dt.datetime:
        """When session ``k`` of a workspace was created (before jitter of up to 10 minutes)."""
        return _EPOCH + dt.timedelta(seconds=k * _SPACING_S)

    def sessions(self, workspace: int = 0) -> Iterator[dict[str, Any]]:
        """Every session of one workspace, oldest first (the order the editor appends them)."""
        for k in range(self.workspaces()[workspace][1]):
            yield self.session_json(k, workspace)

    def session_id(self, k: int, workspace: int = 0) -> str:
        return f"session-w{workspace}-{k:06d}"

    def session_json(self, k: int, workspace: int = 0) -> dict[str, Any]:
        """Session ``k`` of ``workspace`` in the editor's JSON shape."""
        rng = random.Random(f"{self.seed}:{self.profile}:{workspace}:{k}")
        realistic = self.profile == "realistic"
        sid = self.session_id(k, workspace)
        created = self.created(k) + dt.timedelta(seconds=rng.randrange(600))
        status = _pick(rng, _STATUSES)
        kind = _pick(rng, _TYPES)
        duration = rng.randrange(60, 4 * 3600) if status != "running" else None
        updated = created + dt.timedelta(seconds=duration or rng.randrange(60, 3600))
        style = (
            (lambda: rng.choice(("backend", "frontend")))
            if realistic
            else (lambda: "seed")
        )
        instances = self._instances(rng, sid, status, created, realistic)
        messages = self._messages(rng, sid, created, realistic, len(instances))
        files = sum(i.get("filesChanged") or 0 for i in instances)
        session: dict[str, Any] = {
            "id": sid,
            "type": kind,
            "task": self._task(rng, realistic),
            "status": status,
            "createdAt": format_time(created, style(), rng),
            "updatedAt": format_time(updated, style(), rng),
            "completedAt": (
                format_time(updated, style(), rng)
                if status in ("completed", "failed")
                else None
            ),
            "model": rng.choice(_MODELS),
            "timeoutSeconds": rng.choice((None, 1800, 3600, 7200)),
            "preserveWorktrees": rng.choice((None, True, False)),
            "winnerId": (
                rng.randrange(len(instances))
                if kind == "competition" and status == "completed" and instances
                else None
            ),
            "runtimeMix": (
                sorted({i["runtime"] for i in instances}) if realistic else None
            ),
            "totalDuration": duration,
            "totalFilesChanged": files if duration else None,
            "totalLinesAdded": (
                sum(i.get("linesAdded") or 0 for i in instances) if duration else None
            ),
            "totalLinesDeleted": (
                sum(i.get("linesDeleted") or 0 for i in instances) if duration else None
            ),
            "instances": instances,
            "chatHistory": messages,
        }
        return session

    def _task(self, rng: random.Random, realistic: bool) -> str:
        task = rng.choice(TASK_TEMPLATES)
        if realistic and rng.random() < 0.5:
            task += ". " + corpus(self.seed).message(rng, rng.randrange(80, 400))
        return task

    def _instances(
        self,
        rng: random.Random,
        sid: str,
        status: str,
        created: dt.datetime,
        realistic: bool,
    ) -> list[dict[str, Any]]:
        count = rng.randint(1, 10) if realistic else rng.randint(0, 5)
        text = corpus(self.seed)
        instances = []
        for n in range(count):
            start = created + dt.timedelta(seconds=rng.randrange(5, 60))
            end = start + dt.timedelta(seconds=rng.randrange(60, 3600))
            state = rng.choice(_INSTANCE_STATUS_BY_SESSION[status])
            done = state in ("completed", "failed", "archived")
            output = None
            if realistic and (done or rng.random() < 0.5):
                size = _lognormal(rng, OUTPUT_MEDIAN, OUTPUT_SIGMA, 200, OUTPUT_MAX)
                output = text.output(rng, size)
            runtime = rng.choice(_RUNTIMES)
            instances.append(
                {
                    "instanceId": n,
                    "worktreePath": f"/home/dev/project/.worktrees/{sid}-{n}",
                    "branch": f"ait42/{sid}/agent-{n}",
                    "agentName": rng.choice(AGENT_NAMES),
                    "status": state,
                    "tmuxSessionId": f"ait42-{sid}-{n}",
                    "output": output,
                    "startTime": format_time(
                        start, "backend" if realistic else "seed", rng
                    ),
                    "endTime": (
                        format_time(end, "backend" if realistic else "seed", rng)
                        if done
                        else None
                    ),
                    "filesChanged": rng.randrange(40) if done else None,
                    "linesAdded": rng.randrange(2000) if done else None,
                    "linesDeleted": rng.randrange(800) if done else None,
                    "runtime": runtime,
                    "model": rng.choice(_MODELS),
                    "runtimeLabel": runtime.title() if realistic else None,
                }
            )
        return instances

    def _messages(
        self,
        rng: random.Random,
        sid: str,
        created: dt.datetime,
        realistic: bool,
        instances: int,
    ) -> list[dict[str, Any]]:
        count = rng.randint(0, 60) if realistic else rng.randint(0, 10)
        text = corpus(self.seed)
        messages = []
        at = created
        for n in range(count):
            at += dt.timedelta(seconds=rng.randrange(2, 300))
            role = (
                "user"
                if n % 2 == 0
                else rng.choice(("assistant", "assistant", "system"))
            )
            size = (
                _lognormal(rng, MESSAGE_MEDIAN, MESSAGE_SIGMA, 20, 8000)
                if realistic
                else rng.randrange(20, 160)
            )
            messages.append(
                {
                    "id": f"{sid}-msg-{n}",
                    "role": role,
                    "content": text.message(rng, size),
                    "timestamp": format_time(
                        at, "frontend" if realistic else "seed", rng
                    ),
                    "instanceId": (
                        rng.randrange(instances)
                        if role == "assistant" and instances
                        else None
                    ),
                }
            )
        return messages

    # --- values the scenarios query with, as fractions of the workload --------------------

    def date_range(self) -> tuple[str, str]:
        """The complex query's created_at bounds: sessions from 50 % to 80 % of the history."""
        low = self.created(int(self.n * 0.5))
        high = self.created(int(self.n * 0.8))
        return (
            low.strftime("%Y-%m-%dT%H:%M:%SZ"),
            high.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
