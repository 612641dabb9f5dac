"""The worker processes: a worker applies its planned writes and acknowledges each one in a
file (``run_worker``); ``start_worker`` starts one, ``read_acks`` reads what it acknowledged.

A worker loads this package by path, under a name of its own, in a new Python process: nothing
else of ``bench/`` is imported (not even ``bench/__init__.py``), no folder of this project is put
on the import path, and it runs in the scratch folder, whatever the current directory.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .writes import apply_op, iter_ops, open_store


def run_worker(spec: dict[str, Any]) -> int:
    """Apply the planned writes in order; append one line per write to the ack file.

    Lines: ``ready``; ``<i>`` when write i returned (acknowledged); ``<i> !<Error>`` when it
    raised a SessionError; ``<i> !!<Error>`` when it raised anything else; ``done``.
    With ``fsync`` each line is flushed and fsynced before the next write starts.
    ``writes`` None: write until killed.
    """
    from ait42_session import SessionError

    ops = itertools.islice(
        iter_ops(spec["seed"], spec["worker"], spec["prefix"]), spec["writes"]
    )
    fd = os.open(spec["ack"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def say(line: str) -> None:
        os.write(fd, (line + "\n").encode())
        if spec["fsync"]:
            os.fsync(fd)

    try:
        repo = open_store(spec["store"], spec["path"])
    except SessionError as exc:
        say(f"-1 !{type(exc).__name__}")
        return 1
    say("ready")
    go = spec.get("go")
    while go and not os.path.exists(go):  # start together with the other workers
        time.sleep(0.002)
    for op in ops:
        try:
            apply_op(repo, spec["workspace"], op)
        except SessionError as exc:
            say(f"{op['i']} !{type(exc).__name__}")
            continue
        except (
            Exception
        ) as exc:  # a raw exception: the contract says it must never happen
            say(f"{op['i']} !!{type(exc).__name__}")
            continue
        say(str(op["i"]))
    repo.close()
    say("done")
    os.close(fd)
    return 0


@dataclass
class Acks:
    ready: bool = False
    done: bool = False
    acked: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # write index -> error type
    raw: dict[int, str] = field(
        default_factory=dict
    )  # write index -> raw exception type

    @property
    def processed(self) -> int:
        return len(self.acked) + len(self.errors) + len(self.raw)


def read_acks(path: Path) -> Acks:
    acks = Acks()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return acks
    for line in text.splitlines():
        word, _, rest = line.partition(" ")
        if line == "ready":
            acks.ready = True
        elif line == "done":
            acks.done = True
        elif word.lstrip("-").isdigit():
            index = int(word)
            if rest.startswith("!!"):
                acks.raw[index] = rest[2:]
            elif rest.startswith("!"):
                acks.errors[index] = rest[1:]
            elif not rest:
                acks.acked.append(index)
    return acks


# Run by the worker process (``python -c``): argv[1] is this package's folder, argv[2] the spec.
_WORKER_CODE = """
import importlib.util, json, sys
from pathlib import Path

package = Path(sys.argv[1])
spec = importlib.util.spec_from_file_location(
    "ait42_reliability", package / "__init__.py", submodule_search_locations=[str(package)]
)
reliability = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = reliability
spec.loader.exec_module(reliability)
sys.exit(reliability.run_worker(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))))
"""


def start_worker(spec: dict[str, Any], folder: Path) -> subprocess.Popen[bytes]:
    """``run_worker(spec)`` in a new Python process, in ``folder`` (not ``python -m bench``:
    this package is loaded by path, so nothing else is imported, and no folder of this project
    is put first on the import path). Its stderr goes to ``stderr-<prefix><worker>.txt``.
    """
    name = f"{spec['prefix']}{spec['worker']}"
    spec_path = folder / f"spec-{name}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    package = Path(__file__).resolve().parent
    with open(folder / f"stderr-{name}.txt", "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-c", _WORKER_CODE, str(package), str(spec_path)],
            cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip


def stderr_note(folder: Path, spec_name: str) -> str:
    """The last line the worker wrote to stderr (its exception, if it died of one)."""
    try:
        lines = (
            (folder / f"stderr-{spec_name}.txt")
            .read_text("utf-8", "replace")
            .split("\n")
        )
    except OSError:
        return ""
    lines = [line for line in lines if line.strip()]
    return lines[-1] if lines else "(nothing on stderr)"


def wait_until(condition: Any, timeout: float) -> None:
    """Poll ``condition`` until it holds; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("a worker did not start in time")
        time.sleep(0.005)
