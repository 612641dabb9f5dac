"""The ``ait42-session`` command line, run end to end as ``python -m ait42_session``."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import pty
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ait42_session import cli
from ait42_session.workspace import compute_workspace_hash

from conftest import SAMPLE_SESSIONS, make_instance, make_message, make_session

COMMANDS = ["import", "export", "verify", "optimize", "purge", "stats", "search"]


def run(
    *args: str, stderr: int | None = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    """Run the command line in a fresh interpreter (AIT42_HOME comes from the test fixture)."""
    return subprocess.run(
        [sys.executable, "-m", "ait42_session", *args],
        stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip


def editor_file(folder: Path, ws_hash: str, count: int, *, big: bool = False) -> Path:
    """An editor-written file (every key present) of ``count`` sessions."""
    sessions = []
    for n in range(count):
        output = (
            "compiler output ✓ line\n" * 5_000 if big and n == 0 else f"ran step {n}"
        )
        session = make_session(
            f"{ws_hash[:4]}_{n}",
            instances=[make_instance(0, output=output), make_instance(1)],
            messages=[make_message(f"m{n}", f"please fix bug {n} ☕")],
            extra={"evaluation": {"winner": 0}} if n % 3 == 0 else {},
        )
        sessions.append(session.to_json())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ws_hash}.json"
    path.write_bytes(json.dumps(sessions, indent=2, ensure_ascii=False).encode("utf-8"))
    return path


@pytest.fixture
def sessions_dir(ait42_home: Path, tmp_path: Path) -> Path:
    """``$AIT42_HOME/sessions`` with five workspaces' files, one for a real workspace."""
    folder = ait42_home / "sessions"
    for w in range(4):
        editor_file(
            folder,
            hashlib.sha256(f"/gone/{w}".encode()).hexdigest()[:16],
            30,
            big=w == 0,
        )
    editor_file(folder, compute_workspace_hash(tmp_path / "workspace"), 5)
    return folder


@pytest.fixture
def workspace(tmp_path: Path) -> str:
    path = tmp_path / "workspace"
    path.mkdir(exist_ok=True)
    return str(path)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], *words: str
) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "ait42-session: error: "
    ), result.stderr
    for word in words:
        assert word in lines[0]


# --- usage ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: ait42-session {command}")
    description = result.stdout.split("\n\n")[1]
    assert len(description) > 30


def test_the_top_level_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0
    assert all(command in result.stdout for command in COMMANDS)
    assert "--db" in result.stdout


@pytest.mark.parametrize(
    "args",
    [[], ["frobnicate"], ["import", "--bogus"], ["search", "text"],
     ["search", "text", "--workspace", "w", "--limit", "0"], ["export"]],
    ids=["no command", "unknown command", "unknown option", "search without workspace",
         "limit zero", "export without folder"],
)  # fmt: skip
def test_bad_usage_exits_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


# --- end to end -----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def on(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run`` against the default SQLite file, or with ``--db postgresql://...``."""
    if request.param == "sqlite":
        return run
    from postgres_cluster import url_for

    url = url_for(tmp_path)
    return lambda *args, **kw: run("--db", url, *args, **kw)


def test_import_export_verify_stats_search_optimize_end_to_end(
    on, sessions_dir, ait42_home, tmp_path, workspace
):
    first = on("import")
    assert first.returncode == 0, first.stderr
    assert "sessions imported         125" in first.stdout

    again = on("import", "--json")
    assert again.returncode == 0
    report = json.loads(again.stdout)
    assert (report["sessions"], report["skipped"], report["unchanged_files"]) == (
        0,
        125,
        5,
    )
    assert report["ok"] is True and report["errors"] == []

    out = tmp_path / "out"
    exported = on("export", str(out))
    assert exported.returncode == 0
    assert "Exported 125 sessions to 5 files" in exported.stdout
    for source in sessions_dir.iterdir():
        assert (out / source.name).read_bytes() == source.read_bytes()
    assert max(p.stat().st_size for p in out.iterdir()) > 100_000

    verified = on("verify")
    assert verified.returncode == 0 and verified.stdout.strip().endswith("OK")
    checks = json.loads(on("verify", "--json").stdout)
    assert checks["ok"] and checks["counts"]["messages"] == 125

    stats = json.loads(on("stats", "--json").stdout)
    assert stats["totals"] == {"sessions": 125, "instances": 250, "messages": 125}
    assert stats["migration_status"] == "imported" and len(stats["workspaces"]) == 5
    assert compute_workspace_hash(workspace) in on("stats").stdout

    found = on("search", "bug 3", "--workspace", workspace)
    assert found.returncode == 0
    session_id = f"{compute_workspace_hash(workspace)[:4]}_3"
    assert found.stdout.splitlines()[0].split("\t")[:2] == [session_id, "message m3"]
    assert "[bug]" in found.stdout and "[3]" in found.stdout
    hits = json.loads(on("search", "ran", "--workspace", workspace, "--json").stdout)
    assert {h["kind"] for h in hits} == {"output"}

    optimized = on("optimize")
    assert optimized.returncode == 0 and "Optimized" in optimized.stdout
    purged = on("purge", "--json")
    assert purged.returncode == 0 and json.loads(purged.stdout)["purged"] is True


def test_the_editor_fixture_as_serde_writes_it_round_trips_byte_for_byte(on, tmp_path):
    source = Path(__file__).parent / "fixtures" / "editor-sample-sessions.serde.json"
    folder = tmp_path / "editor"
    folder.mkdir()
    (folder / "0123456789abcdef.json").write_bytes(source.read_bytes())

    assert on("import", str(folder)).returncode == 0
    verified = on("verify")
    assert verified.returncode == 0, verified.stdout
    assert on("export", str(tmp_path / "out")).returncode == 0

    assert (
        tmp_path / "out" / "0123456789abcdef.json"
    ).read_bytes() == source.read_bytes()


def test_backup_and_restore_say_they_are_for_sqlite_files_on_a_server(tmp_path):
    from postgres_cluster import url_for

    url = url_for(tmp_path)
    for command in ("backup", "restore"):
        done = run("--db", url, command, str(tmp_path / "copy.db"))
        assert done.returncode == 1
        assert "pg_dump" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "copy.db").exists()


def test_import_of_a_folder_with_bad_files_reports_them_and_exits_1(sessions_dir):
    (sessions_dir / "00000000000000bb.json").write_bytes(b"[{")
    (sessions_dir / "00000000000000cc.json").write_text("[]")  # empty array: fine
    editor_file(sessions_dir, "00000000000000dd", 2)
    broken = json.loads((sessions_dir / "00000000000000dd.json").read_text())
    broken[1]["createdAt"] = "yesterday"  # names no instant: cannot be stored
    (sessions_dir / "00000000000000dd.json").write_text(json.dumps(broken, indent=2))

    result = run("import")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "00000000000000bb.json: not valid JSON" in result.stdout
    assert "00000000000000dd.json [session 1]: session.createdAt" in result.stdout
    assert "sessions imported         126" in result.stdout


def test_import_keeps_what_the_editor_wrote_with_warnings_and_strict_fails_on_them(
    tmp_path, ait42_home
):
    folder = tmp_path / "sessions"
    path = editor_file(folder, "00000000000000dd", 2)
    data = json.loads(path.read_text())
    data[1]["status"] = "exploded"  # not the contract's, kept as written
    data.append(dict(data[0]))  # a second copy, as the editor's double create makes
    path.write_text(json.dumps(data, indent=2))

    strict = run("import", "--strict", "--dry-run", str(folder))
    result = run("import", str(folder))
    again = run("import", "--strict", "--json", str(folder))

    assert strict.returncode == 1 and "Warnings" in strict.stdout
    assert result.returncode == 0, result.stdout
    assert re.search(r"warnings: repeated id +1\n", result.stdout)
    assert re.search(r"warnings: unknown value +1\n", result.stdout)
    assert "kept as written: session.status 'exploded'" in result.stdout
    # Said once: a re-run after a clean import reports nothing, and --strict passes.
    report = json.loads(again.stdout)
    assert again.returncode == 0 and report["ok"] and report["warnings"] == []
    assert report["warning_counts"] == {"repeated id": 0, "unknown value": 0, "no known path": 0}


def test_a_dry_run_creates_no_database(sessions_dir, ait42_home):
    result = run("import", "--dry-run")
    assert result.returncode == 0
    assert "dry run" in result.stdout and re.search(
        r"sessions to import +125\n", result.stdout
    )
    assert (
        "imported" not in result.stdout
    )  # it says what it would import, not what it did
    assert not (ait42_home / "sessions.db").exists()


def test_a_dry_run_leaves_an_existing_database_unchanged(sessions_dir, ait42_home):
    db = ait42_home / "sessions.db"
    assert run("import").returncode == 0
    editor_file(sessions_dir, "00000000000000ee", 3)
    assert run("optimize").returncode == 0
    before = digest(db)

    result = run("import", "--dry-run", "--json")

    assert json.loads(result.stdout)["sessions"] == 3
    assert run("optimize").returncode == 0
    assert digest(db) == before


def test_db_can_be_given_before_or_after_the_command(tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "0123456789abcdef.json").write_bytes(SAMPLE_SESSIONS.read_bytes())
    db = tmp_path / "custom.db"

    assert run("--db", str(db), "import", str(folder)).returncode == 0
    stats = json.loads(run("stats", "--json", "--db", str(db)).stdout)

    assert stats["path"] == str(db) and stats["totals"]["sessions"] == 3


# --- failures are one line ------------------------------------------------------------------


def test_a_missing_sessions_folder_is_a_one_line_error(tmp_path):
    assert_one_line_error(
        run("import", str(tmp_path / "nowhere")), "no sessions folder"
    )


@pytest.mark.parametrize(
    "command", ["export", "verify", "optimize", "purge", "stats", "search"]
)
def test_commands_other_than_import_need_an_existing_database(
    command, tmp_path, ait42_home
):
    args = {"export": [str(tmp_path / "out")], "search": ["x", "--workspace", "w"]}
    assert_one_line_error(run(command, *args.get(command, [])), "no database")
    assert not (ait42_home / "sessions.db").exists()


def test_a_damaged_database_is_a_one_line_error(tmp_path):
    db = tmp_path / "garbage.db"
    db.write_bytes(os.urandom(8192))
    assert_one_line_error(run("--db", str(db), "verify"), "damaged", str(db))
    assert_one_line_error(run("--db", str(db), "import", str(tmp_path)), "damaged")


# --- progress -------------------------------------------------------------------------------


def run_on_terminal(*args: str) -> tuple[int, bytes]:
    """Run the command line with stderr on a pseudo-terminal; (exit code, what it showed)."""
    controller, terminal = pty.openpty()
    # A real terminal has a size; tqdm draws nothing on a zero-column one.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    shown = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal side closed
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        result = run(*args, stderr=terminal)
    finally:
        os.close(terminal)
        reader.join(timeout=30)
        os.close(controller)
    return result.returncode, bytes(shown)


def test_progress_shows_on_a_terminal_only(sessions_dir, tmp_path):
    assert run("import").stderr == ""
    code, shown = run_on_terminal("import", "--db", str(tmp_path / "second.db"))
    assert code == 0
    assert b"importing" in shown and b"/5 [" in shown
    code, shown = run_on_terminal(
        "import", "--json", "--db", str(tmp_path / "third.db")
    )
    assert code == 0 and shown == b""


def test_progress_without_tqdm_is_a_plain_counter(sessions_dir, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if not installed
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    assert cli.main(["import"]) == 0

    err = capsys.readouterr().err
    assert "importing 5/5 files" in err


def test_stats_count_only_files_that_brought_a_session_in(tmp_path, ait42_home):
    folder = tmp_path / "sessions"
    editor_file(folder, "00000000000000aa", 2)
    refused = editor_file(folder, "00000000000000bb", 1)
    data = json.loads(refused.read_text())
    data[0]["createdAt"] = "yesterday"  # its only session cannot be stored
    refused.write_text(json.dumps(data, indent=2))
    assert run("import", str(folder)).returncode == 1
    stats = json.loads(run("stats", "--json").stdout)
    assert (stats["imported_files"], stats["files_with_problems"]) == (1, 1)
    assert re.search(r"imported JSON files +1\n", run("stats").stdout)


def test_search_says_when_the_workspace_is_unknown(sessions_dir, ait42_home, tmp_path):
    assert run("import").returncode == 0
    stranger = tmp_path / "never-opened"
    stranger.mkdir()
    result = run("search", "bug", "--workspace", str(stranger))
    assert result.returncode == 1 and "unknown workspace" in result.stderr
    assert result.stdout == ""


def test_search_with_prefix_finds_a_half_typed_word(
    sessions_dir, ait42_home, workspace
):
    editor_file(sessions_dir, compute_workspace_hash(workspace), 3)
    assert run("import").returncode == 0
    assert run("search", "plea", "--workspace", workspace).stdout == ""
    found = run("search", "plea", "--workspace", workspace, "--prefix")
    assert found.returncode == 0 and "[please]" in found.stdout


def test_workspaces_lists_what_the_store_knows(sessions_dir, ait42_home):
    assert run("import").returncode == 0
    listed = json.loads(run("workspaces", "--json").stdout)
    assert sorted(w["session_count"] for w in listed) == [5, 30, 30, 30, 30]
    assert all(w["path"] is None for w in listed)  # imported by hash, not opened yet
    assert all(w["last_activity"] for w in listed)


def test_rebind_moves_a_listed_hash_to_a_folder_and_workspaces_says_so(
    tmp_path, ait42_home
):
    folder = tmp_path / "sessions"
    editor_file(folder, "00000000000000ee", 2)
    target = tmp_path / "project"
    target.mkdir()
    assert run("import", str(folder)).returncode == 0
    assert "(no known path" in run("workspaces").stdout

    moved = run("rebind", "00000000000000ee", str(target), "--json")
    missing = run("rebind", "0123456789abcdef", str(target))

    assert moved.returncode == 0 and json.loads(moved.stdout)["moved"] == 2
    listing = run("workspaces").stdout
    assert re.search(r"00000000000000ee +0 +- +\(joined [0-9a-f]{16}\)", listing)
    assert missing.returncode == 1 and "no workspace" in missing.stderr
    found = run("search", "fix", "--workspace", str(target), "--json")
    assert found.returncode == 0 and len(json.loads(found.stdout)) == 2


def test_duplicates_lists_the_copies_and_resolves_by_the_written_rules(tmp_path, ait42_home):
    folder = tmp_path / "sessions"
    path = editor_file(folder, "00000000000000ff", 2)
    data = json.loads(path.read_text())
    twin = {**data[0], "instances": [], "chatHistory": []}  # App.tsx's never-written copy
    path.write_text(json.dumps(data + [twin], indent=2))
    assert run("import", str(folder)).returncode == 0

    listed = run("duplicates")
    dry = run("duplicates", "--resolve", "--dry-run", "--json")
    still = json.loads(run("duplicates", "--json").stdout)["groups"]
    done = run("duplicates", "--resolve")
    after = run("duplicates")

    assert listed.returncode == 0
    assert "00000000000000ff  0000_0  2 copies: double create" in listed.stdout
    assert "double create: The dialog and then App.tsx" in listed.stdout
    assert "1 of 1 can be resolved" in listed.stdout
    report = json.loads(dry.stdout)
    assert report["resolved"] is False and len(report["groups"]) == 1 and len(still) == 1
    assert done.returncode == 0 and "Resolved 1 repeated ids." in done.stdout
    assert after.stdout.strip() == "No repeated ids."
