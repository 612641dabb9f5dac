"""The JSON store's file format against serde itself: bytes written and files refused.

``tools/serde-reference`` is the editor's store in Rust (its structs, serde_json's pretty
printer). These tests feed the same input to it and to ``ait42_session.editor_files`` and
require the same bytes out, or a refusal from both. ``.ci/run`` builds the tool and sets
``AIT42_REQUIRE_SERDE_REFERENCE=1``, so in CI a missing tool fails rather than skips.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ait42_session import editor_files
from ait42_session.errors import StoreCorruptedError, ValidationError

from conftest import EDITOR_WRITTEN, SAMPLE_SESSIONS, make_instance, make_message, make_session

REPO = Path(__file__).resolve().parent.parent
TOOL = Path(
    os.environ.get("AIT42_SERDE_REFERENCE")
    or REPO / "tools" / "serde-reference" / "target" / "release" / "serde-reference"
)
SERDE_FIXTURE = SAMPLE_SESSIONS.with_name("editor-sample-sessions.serde.json")

if not TOOL.is_file():
    message = (
        f"serde reference tool not built ({TOOL}): apt install cargo librust-serde-json-dev "
        "librust-serde-derive-dev && (cd tools/serde-reference && cargo build --release)"
    )
    if os.environ.get("AIT42_REQUIRE_SERDE_REFERENCE"):
        raise RuntimeError(message)
    pytestmark = pytest.mark.skip(reason=message)


def serde_rewrite(raw: bytes) -> bytes | None:
    """What the editor writes after reading ``raw``; None when serde refuses the file."""
    done = subprocess.run(
        [str(TOOL), "rewrite"], input=raw, capture_output=True, timeout=60
    )
    if done.returncode == 1:
        return None
    assert done.returncode == 0, done.stderr
    return done.stdout


def ours(raw: bytes) -> bytes | None:
    """What the JSON store writes after reading ``raw``; None when it refuses the file."""
    try:
        return editor_files.encode(editor_files.decode_records(raw, Path("file.json")))
    except StoreCorruptedError:
        return None


def test_the_committed_serde_output_of_the_fixture_is_current() -> None:
    assert serde_rewrite(SAMPLE_SESSIONS.read_bytes()) == SERDE_FIXTURE.read_bytes()


@pytest.mark.parametrize("file", EDITOR_WRITTEN, ids=lambda f: f.name)
def test_files_the_shipping_editor_wrote_come_back_from_both_byte_for_byte(
    file: Path,
) -> None:
    """The reference is the shipping struct: the editor's own files are its fixed points."""
    raw = file.read_bytes()
    assert serde_rewrite(raw) == raw
    assert ours(raw) == raw


def test_the_crate_order_is_not_the_editors() -> None:
    """The crate's fixture (lists last) is read by both and written back in the editor's
    order: ``instances`` and ``chatHistory`` right after ``completedAt``."""
    written = SERDE_FIXTURE.read_text()
    assert ours(SAMPLE_SESSIONS.read_bytes()) == SERDE_FIXTURE.read_bytes()
    first = json.loads(written)[0]
    keys = list(first)
    assert keys[keys.index("completedAt") + 1 : keys.index("completedAt") + 3] == [
        "instances",
        "chatHistory",
    ]


def test_workload_files_come_back_from_both_byte_for_byte(tmp_path: Path) -> None:
    from bench.stores import build
    from bench.workloads import Workload

    for profile in ("light", "realistic"):
        paths = build(Workload(profile, 30), tmp_path / "cache", progress=False)
        for file in paths.sessions_dir.glob("*.json"):
            raw = file.read_bytes()
            assert serde_rewrite(raw) == raw  # the harness writes what serde writes
            assert ours(raw) == raw


# Every character class serde_json escapes or passes through differently.
AWKWARD = (
    "".join(map(chr, range(0x20)))
    + '"\\/\x7f\u0080\u00e9\u2028\u2029\ufeff\ufffd\U0001f680\U0010ffff'
)
text = st.text(
    alphabet=st.sampled_from(AWKWARD) | st.characters(exclude_categories=["Cs"])
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=text, output=st.none() | text, content=text, model=st.none() | text)
def test_any_text_is_written_as_serde_writes_it(
    task: str, output: str | None, content: str, model: str | None
) -> None:
    session = make_session(
        "s",
        task=task or "t",
        model=model,
        instances=[make_instance(0, output=output, agent_name=content)],
        messages=[make_message("m", content or "c")],
    )
    written = editor_files.encode([editor_files.record_of(session)])
    assert serde_rewrite(written) == written
    assert (
        written
        == json.dumps([session.to_json()], indent=2, ensure_ascii=False).encode()
    )


def test_a_lone_surrogate_is_refused_by_both() -> None:
    session = make_session("s", task="lone \ud800 surrogate")
    with pytest.raises(ValidationError):
        editor_files.encode([editor_files.record_of(session)])
    escaped = json.dumps([make_session("s").to_json()]).replace("Task of s", "\\ud800")
    assert serde_rewrite(escaped.encode()) is None
    assert ours(escaped.encode()) is None


def _fixture_with(change: Any) -> bytes:
    data = json.loads(SAMPLE_SESSIONS.read_text())
    change(data)
    return json.dumps(data, indent=2).encode()


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return change


def _drop(path: tuple[Any, ...]) -> Any:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        del data[path[-1]]

    return change


# (what, the change to the fixture); both must accept, or both refuse.
SAME_VERDICT = {
    "as it is": lambda d: None,
    "unknown type": _set((0, "type"), "tournament"),
    "timestamp in no format": _set((0, "createdAt"), "yesterday"),
    "absent optional key": _drop((0, "model")),
    "absent instances": _drop((0, "instances")),
    "absent chatHistory": _drop((2, "chatHistory")),
    "absent completedAt": _drop((0, "completedAt")),
    "null instances": _set((0, "instances"), None),
    "missing id": _drop((1, "id")),
    "missing tmuxSessionId": _drop((0, "instances", 0, "tmuxSessionId")),
    "string instanceId": _set((0, "instances", 0, "instanceId"), "0"),
    "float filesChanged": _set((0, "instances", 0, "filesChanged"), 1.5),
    "whole float filesChanged": _set((0, "instances", 0, "filesChanged"), 1.0),
    "negative linesAdded": _set((0, "instances", 0, "linesAdded"), -1),
    "u32 max": _set((0, "timeoutSeconds"), 2**32 - 1),
    "u32 overflow": _set((0, "timeoutSeconds"), 2**32),
    "u64 max": _set((0, "totalDuration"), 2**64 - 1),
    "u64 overflow": _set((0, "totalDuration"), 2**64),
    "bool for winnerId": _set((0, "winnerId"), True),
    "number for preserveWorktrees": _set((0, "preserveWorktrees"), 1),
    "number in runtimeMix": _set((0, "runtimeMix"), ["claude", 3]),
    "empty object as a session": lambda d: d.clear() or d.append({}),
    "NUL in a string": _set((0, "task"), "a\x00b"),
}


@pytest.mark.parametrize("change", SAME_VERDICT.values(), ids=SAME_VERDICT.keys())
def test_the_json_store_refuses_what_serde_refuses_and_nothing_else(
    change: Any,
) -> None:
    raw = _fixture_with(change)
    assert ours(raw) == serde_rewrite(raw)


@pytest.mark.parametrize("change", SAME_VERDICT.values(), ids=SAME_VERDICT.keys())
def test_reads_refuse_what_rewrites_refuse(change: Any) -> None:
    """The read path (models) and the rewrite path (the editor's structs) agree."""
    raw = _fixture_with(change)
    try:
        editor_files.decode_sessions(raw, Path("file.json"), "0" * 16)
    except StoreCorruptedError:
        read = False
    else:
        read = True
    assert read == (ours(raw) is not None)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"  \n",
        b"[]",
        b"[",
        b"[1]",
        b"{}",
        b"\xef\xbb\xbf[]",
        b"[] []",
        b"[NaN]",
        b'["\xff"]',
    ],
    ids=repr,
)
def test_whole_file_verdicts_are_serdes(raw: bytes) -> None:
    assert ours(raw) == serde_rewrite(raw)


def test_a_repeated_key_is_a_documented_difference() -> None:
    """serde refuses ("duplicate field"); msgspec takes the last value, as Python's json does.
    Finding repeats would take a second pass over every byte of every file."""
    raw = SAMPLE_SESSIONS.read_bytes().replace(
        b'"task": ', b'"task": "first", "task": ', 1
    )
    assert serde_rewrite(raw) is None
    assert ours(raw) is not None
