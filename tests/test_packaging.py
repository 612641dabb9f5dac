"""The wheel carries its migrations: installed in a fresh venv, used from another folder, it
creates and opens a store at $AIT42_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SMOKE = """
import os, stat, ait42_session as a
repo = a.SqliteSessionRepository.new_default()
repo.create_session("/some/workspace", a.WorktreeSession.new("s1", "h", "debate", "Smoke test"))
assert [s.id for s in repo.get_all_sessions("/some/workspace")] == ["s1"]
assert repo.pool.verify_integrity()
assert not a.__file__.startswith(os.environ["CHECKOUT"]), a.__file__
print(repo.pool.path, repo.pool.schema_version, oct(stat.S_IMODE(os.stat(repo.pool.path).st_mode)))
"""


def test_a_wheel_installed_in_a_fresh_venv_opens_a_store_at_ait42_home(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(dist.glob("ait42_session-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True)
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        **os.environ,
        "AIT42_HOME": str(home),
        "CHECKOUT": str(ROOT),
        "PYTHONPATH": "",
    }
    result = subprocess.run(
        [str(python), "-c", SMOKE],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    path, version, mode = result.stdout.split()
    assert Path(path) == home / "sessions.db"
    assert int(version) >= 2
    assert mode == "0o600"
