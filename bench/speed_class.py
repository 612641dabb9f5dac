"""Is the JSON baseline in serde's speed class? The same file through serde and msgspec.

The editor's store is Rust: serde's derived decode and serde_json's pretty writer. The
baseline (``ait42_session.editor_files``) does that work with msgspec. This times both on the
workspace file of each size: serde through ``tools/serde-reference time`` (its own clock, in
its own process), msgspec in a fresh Python process (``python -m bench.speed_class FILE
ROUNDS``) doing the same two steps - decode into the editor's structs; encode and pretty-print
- so the report can show the baseline beside the store it stands for.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from time import perf_counter
from typing import Any

__all__ = ["TOOL", "measure", "main"]

REPO = Path(__file__).resolve().parent.parent
TOOL = Path(
    os.environ.get("AIT42_SERDE_REFERENCE")
    or REPO / "tools" / "serde-reference" / "target" / "release" / "serde-reference"
)


def _rounds(size: int) -> int:
    """Enough rounds for a median, few for files of hundreds of megabytes."""
    return max(3, min(25, int(2e9 / max(size, 1))))


def measure(file: Path, timeout: float = 1800) -> dict[str, Any]:
    """Median seconds of decode and of encode on ``file``, for serde and for msgspec; or a
    ``reason`` why serde could not be measured here."""
    rounds = _rounds(file.stat().st_size)
    out: dict[str, Any] = {"rounds": rounds, "bytes": file.stat().st_size}
    runs = {
        "msgspec": [sys.executable, "-m", "bench.speed_class", str(file), str(rounds)]
    }
    if TOOL.is_file():
        runs["serde"] = [str(TOOL), "time", str(file), str(rounds)]
    else:
        out["reason"] = f"tools/serde-reference is not built ({TOOL.name} missing)"
    for name, cmd in runs.items():
        done = subprocess.run(
            cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            out[name] = {"error": done.stderr.strip()[-300:]}
            continue
        times = json.loads(done.stdout)
        out[name] = {step: statistics.median(values) for step, values in times.items()}
    return out


def _msgspec(file: Path, rounds: int) -> dict[str, list[float]]:
    import msgspec

    from ait42_session.editor_files import SessionRecord

    decoder = msgspec.json.Decoder(list[SessionRecord])
    encoder = msgspec.json.Encoder()
    raw = file.read_bytes()
    decode, encode = [], []
    for _ in range(rounds):
        start = perf_counter()
        records = decoder.decode(raw)
        decode.append(perf_counter() - start)
        start = perf_counter()
        text = msgspec.json.format(encoder.encode(records), indent=2)
        encode.append(perf_counter() - start)
        if len(text) != len(raw):
            raise SystemExit(f"{file} was not written by serde_json's pretty printer")
        del records, text
    return {"decode": decode, "encode": encode}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m bench.speed_class FILE ROUNDS", file=sys.stderr)
        return 2
    print(json.dumps(_msgspec(Path(args[0]), int(args[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
