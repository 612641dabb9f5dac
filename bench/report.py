"""``report.md`` (and the tables printed at the end of a run), from ``results.json`` alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import results as res
from .backends import FLOOR_OF, LABELS
from .results import Cell, Status
from .environment import scrub
from .scenarios import SCENARIOS
from .stats import verdict

__all__ = ["write_all", "render", "tables"]

FLOOR_TARGET = 1.3  # store time / its floor's time


def _ms(seconds: float | None, projected: bool = False) -> str:
    if seconds is None:
        return "—"
    ms = seconds * 1000
    text = f"{ms:.3g}" if ms < 100 else f"{ms:,.0f}"
    return f"~{text} (projected)" if projected else text


def _bytes(value: float | None) -> str:
    if value is None:
        return "—"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def _cell_time(c: Cell | None) -> str:
    if c is None:
        return "—"
    t, projected = c.time()
    if t is None:
        return c.status.value
    return _ms(t, projected)


def _ratio_text(r: dict[str, Any] | None) -> str:
    if r is None:
        return "—"
    if r["projected"]:
        return f"~{r['median']:.1f}x (projected)"
    if r.get("low") is None:
        return f"{r['median']:.1f}x"
    return f"{r['median']:.1f}x [{r['low']:.1f}–{r['high']:.1f}]"


def _verdict(r: dict[str, Any] | None, target: float | None) -> str:
    if target is None:
        return "—"
    if r is None:
        return "n/a"
    if r["projected"] or r.get("low") is None:
        word = "PASS" if r["median"] >= target else "FAIL"
        return f"{word} (projected)" if r["projected"] else word
    return verdict(r, target)[0]


def seed_verdict(results: dict[str, Any], name: str, n: int) -> str | None:
    """PASS/FAIL/UNCLEAR (maybe "(projected)") of the seed's ratio at one size; None without
    a target or a ratio."""
    target = SCENARIOS[name].target_ratio
    r = res.ratio(results, name, n, "json", "sqlite")
    if target is None or r is None:
        return None
    return _verdict(r, target)


def _sizes(results: dict[str, Any]) -> list[int]:
    return sorted({int(n) for cells in results["cells"].values() for n in cells})


def _scenarios(results: dict[str, Any]) -> list[str]:
    return [s for s in SCENARIOS if s in results["cells"]]


def ratio_table(results: dict[str, Any]) -> str:
    lines = [
        "| Scenario | Sessions | JSON median (ms) | SQLite median (ms) | JSON/SQLite [95% CI] | Seed target | Result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name in _scenarios(results):
        scenario = SCENARIOS[name]
        for n in _sizes(results):
            json_cell = res.cell(results, name, n, "json")
            sqlite_cell = res.cell(results, name, n, "sqlite")
            if json_cell is None and sqlite_cell is None:
                continue
            r = res.ratio(results, name, n, "json", "sqlite")
            target = f"{scenario.target_ratio:g}x" if scenario.target_ratio else "—"
            lines.append(
                f"| {name} | {n:,} | {_cell_time(json_cell)} | {_cell_time(sqlite_cell)} | "
                f"{_ratio_text(r)} | {target} | {_verdict(r, scenario.target_ratio)} |"
            )
    return "\n".join(lines)


def absolute_table(results: dict[str, Any]) -> str:
    n = 100
    lines = [
        "| Seed row | Scenario | Seed: JSON | JSON measured (ms) | Seed: SQLite target | SQLite median (ms) | SQLite p95 (ms) | Result |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    seed_json = {
        "Get all sessions (100)": "~50 ms",
        "Search by type": "~50 ms",
        "Complex query": "~50 ms",
        "Insert session": "~60 ms",
        "Update session": "~60 ms",
    }
    for name in _scenarios(results):
        scenario = SCENARIOS[name]
        if scenario.seed_row is None:
            continue
        stored = res.cell(results, name, n, "sqlite")
        median, projected = stored.time() if stored else (None, False)
        p95 = stored.summary["p95"] if stored and stored.summary else None
        if scenario.target_ms is None:
            target, result = "none given", "— (no absolute target in the seed)"
        else:
            target = f"{scenario.target_ms:g} ms"
            if median is None:
                result = "n/a"
            else:
                result = "PASS" if median * 1000 <= scenario.target_ms else "FAIL"
                if (
                    result == "PASS"
                    and p95 is not None
                    and p95 * 1000 > scenario.target_ms
                ):
                    result += " (median; p95 above)"
        lines.append(
            f"| {scenario.seed_row} | {name} | {seed_json.get(scenario.seed_row, '—')} | "
            f"{_cell_time(res.cell(results, name, n, 'json'))} | {target} | "
            f"{_ms(median, projected)} | {_ms(p95)} | {result} |"
        )
    return "\n".join(lines)


def _floor_verdict(r: dict[str, Any] | None) -> str:
    """yes: the whole interval at or under 1.3x; no: the whole interval over; else unclear."""
    if r is None:
        return "—"
    low = r["median"] if r.get("low") is None else r["low"]
    high = r["median"] if r.get("high") is None else r["high"]
    if high <= FLOOR_TARGET:
        return "yes"
    if low > FLOOR_TARGET:
        return "**no**"
    return "unclear"


def floor_table(results: dict[str, Any]) -> str:
    lines = [
        "| Scenario | Sessions | JSON store (ms) | msgspec floor (ms) | JSON/floor [95% CI] | ≤ 1.3x "
        "| SQLite store (ms) | APSW floor (ms) | SQLite/APSW [95% CI] | ≤ 1.3x | sqlite3 floor (ms) |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|",
    ]
    for name in _scenarios(results):
        for n in _sizes(results):
            if all(res.cell(results, name, n, store) is None for store in FLOOR_OF):
                continue
            row = [name, f"{n:,}"]
            for store, floor in FLOOR_OF.items():
                r = res.ratio(results, name, n, store, floor)
                row += [
                    _cell_time(res.cell(results, name, n, store)),
                    _cell_time(res.cell(results, name, n, floor)),
                    _ratio_text(r),
                    _floor_verdict(r),
                ]
            row.append(_cell_time(res.cell(results, name, n, "sqlite3")))
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def floor_counts(results: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per store: (cells within 1.3x of its floor, cells with a ratio)."""
    counts = {}
    for store, floor in FLOOR_OF.items():
        verdicts = [
            _floor_verdict(r)
            for name in _scenarios(results)
            for n in _sizes(results)
            if (r := res.ratio(results, name, n, store, floor)) is not None
            and not r["projected"]
        ]
        counts[store] = (verdicts.count("yes"), len(verdicts))
    return counts


def _size_list(sizes: list[int]) -> str:
    return ", ".join(f"{n:,}" for n in sizes)


def summary_line(results: dict[str, Any]) -> str:
    """One paragraph: each seed ratio met at which sizes, and both stores against floors."""
    met_all, met_some, met_none = [], [], []
    for name in _scenarios(results):
        verdicts = {n: seed_verdict(results, name, n) for n in _sizes(results)}
        verdicts = {n: v for n, v in verdicts.items() if v and v != "n/a"}
        if not verdicts:
            continue
        passed = [n for n, v in verdicts.items() if v.startswith("PASS")]
        target = SCENARIOS[name].target_ratio
        label = f"`{name}` ({target:g}x)"
        if len(passed) == len(verdicts):
            met_all.append(label)
        elif passed:
            met_some.append(f"{label} at {_size_list(passed)}")
        else:
            met_none.append(label)
    parts = [
        f"met at every size: {', '.join(met_all) or 'none'}",
        f"at some sizes: {'; '.join(met_some) or 'none'}",
        f"at none: {', '.join(met_none) or 'none'}",
    ]
    floors = floor_counts(results)
    floor_text = "; ".join(
        f"{LABELS[store]} within {FLOOR_TARGET}x of its {LABELS[FLOOR_OF[store]]} in "
        f"{good} of {total} cells"
        for store, (good, total) in floors.items()
    )
    return (
        "**Summary.** The seed's JSON/SQLite ratios, PASS only where the whole 95 % interval "
        f"clears the target — {parts[0]}; {parts[1]}; {parts[2]}. Each store beside its own "
        f"floor: {floor_text}."
    )


def beside_sqlite_table(results: dict[str, Any], backend: str) -> str:
    """The same call on the SQLite store in process and on ``backend`` (``sidecar``: through
    ``ait42-session serve``; ``postgres``: the PostgreSQL store): medians, their difference,
    p95s and the paired ratio."""
    label = {"sidecar": "Sidecar", "postgres": "PostgreSQL"}[backend]
    lines = [
        f"| Scenario | Sessions | SQLite median (ms) | {label} median (ms) | Difference (ms) "
        f"| SQLite p95 (ms) | {label} p95 (ms) | {label} / SQLite [95% CI] |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in _scenarios(results):
        for n in _sizes(results):
            inside, other = res.cell(results, name, n, "sqlite"), res.cell(
                results, name, n, backend
            )
            if not (inside and other and inside.summary and other.summary):
                continue
            a, b = inside.summary, other.summary
            lines.append(
                f"| {name} | {n:,} | {_ms(a['median'])} | {_ms(b['median'])} | "
                f"{_ms(b['median'] - a['median'])} | {_ms(a['p95'])} | {_ms(b['p95'])} | "
                f"{_ratio_text(res.ratio(results, name, n, backend, 'sqlite'))} |"
            )
    return "\n".join(lines) if len(lines) > 2 else ""


# Issue 11's bound on the first write after open; its p99 targets are each scenario's own
# (Scenario.write_p99_ms).
FIRST_WRITE_TARGET = 3.0


def writes_table(results: dict[str, Any]) -> str:
    """The SQLite store's single-session writes: median, p95, p99 against the scenario's target,
    and the first call after opening the store (the probe's, one fresh process) against the
    median."""
    lines = [
        "| Scenario | Sessions | Median (ms) | p95 (ms) | p99 (ms) | p99 within target "
        "| First call after open (ms) | First / median |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for name in _scenarios(results):
        if SCENARIOS[name].kind != "write":
            continue
        for n in _sizes(results):
            c = res.cell(results, name, n, "sqlite")
            if not (c and c.summary):
                continue
            s = c.summary
            p99 = s.get("p99")
            target = SCENARIOS[name].write_p99_ms
            within = "—" if p99 is None else ("yes" if p99 * 1000 <= target else "NO")
            first = first_ratio = "—"
            times = (c.probe or {}).get("times") or []
            if times and not SCENARIOS[name].opens_with_write:
                first = _ms(times[0])
                ratio = times[0] / s["median"]
                first_ratio = f"{ratio:.1f}x" + (
                    "" if ratio <= FIRST_WRITE_TARGET else " (over 3x)"
                )
            lines.append(
                f"| {name} | {n:,} | {_ms(s['median'])} | {_ms(s['p95'])} | {_ms(p99)} | "
                f"{within} | {first} | {first_ratio} |"
            )
    return "\n".join(lines) if len(lines) > 2 else ""


def _writes_section(results: dict[str, Any]) -> str:
    table = writes_table(results)
    if not table:
        return ""
    return f"""## Single-session writes on the SQLite store

Issue 11's targets: at most 5 ms at the 99th percentile for a session of typical size and
25 ms for the store's largest (`update_largest`), at every size, and a first write after
opening the store at most {FIRST_WRITE_TARGET:g}x a steady one. Percentiles are of pyperf's
values (each the mean of its loop's calls). The first call is one sample per size: the
probe's, in a fresh process that has just opened the store. Scenarios whose case writes once
while it opens show none.
`stream_output` is the editor saving a running session whose 200 KB agent output grew by 1 KB
(`stream_large`: 2 MB, `stream_huge`: 20 MB); `append_output` adds the same 1 KB through
`append_instance_output`.

{table}

"""


def memory_table(results: dict[str, Any]) -> str:
    lines = [
        "| Scenario | Sessions | JSON peak | msgspec floor peak | SQLite peak | APSW floor peak |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in _scenarios(results):
        for n in _sizes(results):
            row = []
            for backend in ("json", "msgspec", "sqlite", "apsw"):
                c = res.cell(results, name, n, backend)
                peak = c.peak_bytes if c else None
                if peak is None and c and c.memory_projection:
                    row.append(f"~{_bytes(c.memory_projection['value'])} (projected)")
                else:
                    row.append(_bytes(peak))
            lines.append(f"| {name} | {n:,} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def trace_section(results: dict[str, Any], key: str = "trace") -> str:
    """The replay of one trace (``results[key]``, see ``results.TRACE_KEYS``), size by size."""
    if not results.get(key):
        return "No replay of this trace in this run."
    parts = []
    for n, outcome in sorted(results[key].items(), key=lambda kv: int(kv[0])):
        stores = outcome["stores"]
        head = f"**{int(n):,} sessions** — {outcome['replayed']} of {outcome['operations']} operations of `{outcome['trace']}`"
        if not outcome["complete"]:
            head += f" (stopped at the box of {outcome['box_seconds']:.0f} s)"
        totals = ", ".join(
            f"{LABELS.get(s, s)} {v['total']:.2f} s" for s, v in stores.items()
        )
        ratio = ""
        if "json" in stores and stores["sqlite"]["total"] > 0:
            ratio = f"; JSON/SQLite {stores['json']['total'] / stores['sqlite']['total']:.1f}x"
        parts.append(f"{head}. Total: {totals}{ratio}.")
        if outcome.get("note"):
            parts.append(
                f"{outcome['note']} (estimated from the JSON store's scenario times)."
            )
        if outcome["mismatches"]:
            parts.append("Answers differed: " + "; ".join(outcome["mismatches"][:5]))
        names = list(stores)
        header = (
            "| Operation | Count | "
            + " | ".join(f"{LABELS[s]} p50 / p95 / p99 (ms)" for s in names)
            + " |"
        )
        rows = [header, "|---|---:|" + "---:|" * len(names)]
        kinds = sorted(
            stores["sqlite"]["kinds"],
            key=lambda k: -stores["sqlite"]["kinds"][k]["count"],
        )
        for kind in kinds:
            cells = []
            for s in names:
                k = stores[s]["kinds"].get(kind)
                cells.append(
                    "—"
                    if not k
                    else f"{k['p50'] * 1000:.3g} / {k['p95'] * 1000:.3g} / {k['p99'] * 1000:.3g}"
                )
            rows.append(
                f"| {kind} | {stores['sqlite']['kinds'][kind]['count']} | "
                + " | ".join(cells)
                + " |"
            )
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def notes(results: dict[str, Any]) -> str:
    """Every cell that was not measured, and why; every error."""
    out = []
    for name in _scenarios(results):
        for n in _sizes(results):
            for backend, c in (results["cells"][name].get(str(n)) or {}).items():
                where = f"- {name}, {n:,}, {LABELS[backend]}"
                if c.status is Status.MEASURED:
                    if c.errors:
                        out.append(
                            f"{where}: some processes failed: {c.errors[0][:200]}"
                        )
                    continue
                how = ""
                if c.projection and c.projection.get("probe"):
                    how = " The figure shown is that one call (the probe's), not a median."
                elif c.projection:
                    sizes = ", ".join(f"{x:,}" for x in c.projection["from"])
                    how = (
                        f" Projected on a log-log line through {sizes} sessions,"
                        f" slope {c.projection['slope']:.2f}."
                    )
                reason = c.reason or ""
                if backend == "sqlite3" and c.status is Status.NOT_MEASURABLE:
                    reason = _old_sqlite(results) + f" (SQLite said: {reason})"
                out.append(f"{where}: {c.status.value} — {reason}.{how}")
    return "\n".join(out) or "Every cell was measured."


def _old_sqlite(results: dict[str, Any]) -> str:
    version = results["meta"]["versions"].get("sqlite_stdlib", "?")
    return (
        f"the standard library's sqlite3 links the system SQLite ({version}), which cannot run "
        "this part of the schema (FTS5 `contentless_delete` needs 3.43, `secure-delete` 3.44); "
        "APSW bundles its own, newer SQLite"
    )


def progress_line(results: dict[str, Any], name: str, n: int) -> str:
    """One line per scenario and size while a run goes: each backend's time, the ratios."""
    parts = [f"{name:<24} n={n:<7}"]
    for backend, c in results["cells"][name][str(n)].items():
        t, projected = c.time()
        if t is None:
            parts.append(f"{backend} {c.status.value}")
        else:
            parts.append(f"{backend} {'~' if projected else ''}{t * 1000:.3g} ms")
    for num, den in (("json", "sqlite"), *FLOOR_OF.items()):
        r = res.ratio(results, name, n, num, den)
        if r:
            parts.append(
                f"{num}/{den} {'~' if r['projected'] else ''}{r['median']:.2f}x"
            )
    return "  ".join(parts)


def tables(results: dict[str, Any]) -> str:
    """The summary and the two tables printed at the end of ``compare``."""
    return (
        f"{summary_line(results)}\n\n"
        f"## JSON store vs SQLite store ({results['meta']['profile']} profile)\n\n{ratio_table(results)}\n\n"
        f"## The seed's absolute targets at 100 sessions\n\n{absolute_table(results)}\n"
    )


def _builds(results: dict[str, Any]) -> str:
    lines = [
        "| Sessions | + background | Instances | Messages | SQLite file | JSON file(s) | Build s (SQLite / JSON; the same figure when built in one pass) | After the run |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, b in sorted(results["builds"].items(), key=lambda kv: int(kv[0])):
        if not b["json_bytes"]:
            json_size = f"not built ({b['json_reason']})"
        elif b["json_reason"]:
            json_size = (
                f"{_bytes(b['json_bytes'])} (size only: not timed, {b['json_reason']})"
            )
        else:
            json_size = _bytes(b["json_bytes"])
        after = b.get("after_run", {})
        ok = (
            "sizes intact"
            if after.get("ok")
            else f"**changed: {after}**" if after else "—"
        )
        build = b["build_seconds"]
        lines.append(
            f"| {int(n):,} | {b['background_sessions']:,} | {b['instances']:,} | {b['messages']:,} | "
            f"{_bytes(b['sqlite_bytes'])} | {json_size} | {build['sqlite']} / {build['json'] or '—'} | {ok} |"
        )
    return "\n".join(lines)


def speed_class_table(results: dict[str, Any]) -> str:
    """serde (the editor's store) and msgspec (the baseline) on the same file, per size."""
    lines = [
        "| Sessions | File | serde decode (ms) | msgspec decode (ms) | msgspec/serde "
        "| serde encode, pretty (ms) | msgspec encode + format (ms) | msgspec/serde "
        "| Both steps: msgspec/serde |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, b in sorted(results["builds"].items(), key=lambda kv: int(kv[0])):
        c = b.get("speed_class")
        if not c:
            continue
        serde, ours = c.get("serde") or {}, c.get("msgspec") or {}
        if "decode" not in serde or "decode" not in ours:
            why = (
                c.get("reason")
                or serde.get("error")
                or ours.get("error")
                or "not measured"
            )
            lines.append(f"| {int(n):,} | {_bytes(c['bytes'])} | {why} |||||||")
            continue
        both = (ours["decode"] + ours["encode"]) / (serde["decode"] + serde["encode"])
        lines.append(
            f"| {int(n):,} | {_bytes(c['bytes'])} | {_ms(serde['decode'])} | "
            f"{_ms(ours['decode'])} | {ours['decode'] / serde['decode']:.2f}x | "
            f"{_ms(serde['encode'])} | {_ms(ours['encode'])} | "
            f"{ours['encode'] / serde['encode']:.2f}x | {both:.2f}x |"
        )
    if len(lines) == 2:
        return "Not measured in this run (no JSON store was built)."
    return "\n".join(lines)


def _targets(results: dict[str, Any]) -> str:
    lines = [
        "| Sessions | " + " | ".join(_TARGET_NAMES.values()) + " |",
        "|---:|" + "---|" * len(_TARGET_NAMES),
    ]
    for n, b in sorted(results["builds"].items(), key=lambda kv: int(kv[0])):
        sizes = b.get("targets") or {}
        cells = []
        for key in _TARGET_NAMES:
            t = sizes.get(key)
            cells.append(
                "—"
                if not t
                else f"{t['instances']} inst., {t['messages']} msg., {t['text_chars']:,} chars"
            )
        lines.append(f"| {int(n):,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


_TARGET_NAMES = {
    "get": "get_session",
    "create": "create_session",
    "update": "update_session",
    "delete": "delete_session",
    "message": "add_chat_message",
    "status": "update_instance_status",
}


def unfinished(results: dict[str, Any]) -> str:
    """A warning naming the scenario cells a stopped run never reached; empty when it finished."""
    meta = results["meta"]
    if "finished" in meta:
        return ""
    cells = results.get("cells", {})
    missing = [
        f"{name} at {n:,}"
        for n in meta["scales"]
        for name in meta["scenarios"]
        if str(n) not in cells.get(name, {})
    ]
    return (
        "\n**This run was stopped before it finished.** The tables hold what it measured; "
        + (
            f"not reached: {', '.join(missing)}."
            if missing
            else "every scenario cell was reached."
        )
        + "\n"
    )


def sizes_not_run(results: dict[str, Any]) -> str:
    """A line naming the standard sizes this run was not asked to measure; empty if none."""
    from .workloads import SCALES

    missing = [n for n in SCALES if n not in results["meta"]["scales"]]
    if not missing:
        return ""
    return (
        f"\nSizes not measured in this run (not asked for): {_size_list(missing)} sessions; "
        "nothing about them is shown here, measured or projected.\n"
    )


def _sidecar_section(results: dict[str, Any]) -> str:
    table = beside_sqlite_table(results, "sidecar")
    if not table:
        return ""
    return f"""## The SQLite store behind its sidecar

The same calls in process (`sqlite`) and through `ait42-session serve` (`sidecar`: one JSON-RPC
request down a pipe, the answer back, decoded into the models as the board would parse it); the
difference of the medians is what the process boundary costs a call.

{table}

"""


def _postgres_section(results: dict[str, Any]) -> str:
    table = beside_sqlite_table(results, "postgres")
    if not table:
        return ""
    sizes = ", ".join(
        f"{int(n):,}: {b['postgres_bytes'] / 2**20:.1f} MiB"
        for n, b in sorted(results["builds"].items(), key=lambda kv: int(kv[0]))
        if b.get("postgres_bytes")
    )
    return f"""## The PostgreSQL store beside the SQLite store

The same calls on the SQLite store in process (`sqlite`) and on the PostgreSQL store
(`postgres`: psycopg 3 with a connection pool, to a server on this machine over a Unix socket,
fsync on and synchronous_commit off: the SQLite store's durability). The difference is what a
server costs a call: the socket both ways, the server's planning and locking, and the
results crossing the wire. The database was loaded the way a team moves in (export_json of the
SQLite store, then import_json); its size on the server: {sizes or "n/a"}.

{table}

"""


def render(results: dict[str, Any], charts: list[str]) -> str:
    meta = results["meta"]
    s = meta["settings"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    machine = meta["machine"]
    commit = (meta.get("commit") or "unknown")[:12] + (
        " (uncommitted changes)" if meta.get("dirty") else ""
    )
    scenario_lines = "\n".join(
        f"- `{n}`: `{SCENARIOS[n].call}`"
        + (f" — seed row *{SCENARIOS[n].seed_row}*" if SCENARIOS[n].seed_row else "")
        for n in _scenarios(results)
    )
    chart_lines = "\n".join(f"![{c}](charts/{c})" for c in charts)
    return f"""# ait42-session benchmark: {meta['profile']} profile{' (quick run)' if meta.get('quick') else ''}

Commit {commit}; {meta['started']} to {meta.get('finished', '?')} ({meta.get('run_seconds', '?')} s).
Machine: {machine['cpu']}, {machine['cores']} cores, {_bytes(machine['memory_bytes'])}; {machine['platform']}.
Versions: {versions}.
Load average at start {meta['loadavg_start']}, at end {meta.get('loadavg_end')}.
Workload seed {meta['seed']}. Results are {meta['warm']}.
{unfinished(results)}{sizes_not_run(results)}
{summary_line(results)}

## How this was measured

Each scenario is one call through the `SessionRepository` protocol, the same on both stores.
Each store also runs beside its floor: the JSON store's is the editor's work on its file in
bare msgspec; the SQLite store's is its own SQL (from `ait42_session.sql` and
`ait42_session.sqlite_rows`) through bare APSW and stdlib `sqlite3`, fetching tuples, building
no models. pyperf times every backend in its own worker processes: {s['rounds']} rounds per scenario, each running every
backend once in a shuffled order ({s['values']} values per process after {s['warmups']}
warm-up value(s) for calls under 0.2 s; 2 values for calls under 2 s; from 2 s,
{s['slow_rounds']} rounds of one value, from 10 s 3 rounds without warm-up). The
JSON/SQLite ratio is the median of ratios of values paired by round and position, with a 95 %
cluster-bootstrap interval (rounds resampled). PASS needs the whole interval at or above the
seed's target, FAIL the whole interval below it; otherwise UNCLEAR. Writes restore the store
after every call (untimed), so every call sees the stated size. Time box: a call estimated or
found to take more than **{s['box']:g} s** is not run; memory budget: a call estimated to need
more than **{s['mem_fraction']:.0%} of available memory** is not run. Such cells show a time
projected from the smaller sizes (log-log line through the two largest measured sizes, slope at
least 1: each JSON call parses the whole file), marked *projected*.

Scenarios:
{scenario_lines}

## JSON store vs SQLite store

The seed's ratios are checked at every size; its table names a size (100 sessions) only for
"get all sessions".

{ratio_table(results)}

## The seed's absolute targets at 100 sessions

The seed's README gives SQLite targets of 2, 1, 3, 5 and 4 ms at 100 sessions and estimates the
JSON store at ~50–60 ms; for delete it gives only a ratio (29x, in its appendix), no absolute
target. Absolute times are this machine's ({machine['cpu']}, {machine['cores']} cores): a slower
machine can turn a PASS here into a FAIL, which the ratios above do not suffer from.

{absolute_table(results)}

## Each store beside its own floor

What each store spends above the bare work it stands on; target ≤ {FLOOR_TARGET}x for both.
The JSON store's floor (`msgspec floor`) is the editor's own work on its file in bare msgspec:
read and decode into the models (reads); decode into the editor's structs, change one session,
encode, pretty-print, write (writes). Above it the store hashes the workspace path, checks the
caller's session and, for reads, orders (and filters, pages, scans for search) the sessions as
the contract asks — so reads that filter or search have more to do than their floor. The SQLite
store's floor runs the store's own SQL through bare APSW (and stdlib `sqlite3`), fetching tuples
and building no models: above it are validation, workspace hashing, parameters and models.

{floor_table(results)}

## The baseline beside the editor's own store

The JSON store stands for the editor's Rust store, so its floor must be as fast as serde. The
same workspace file, decoded into the editor's structs and encoded back with the pretty
printer: by `tools/serde-reference` (serde, serde_json; the median of its own timings) and by
msgspec as `editor_files` uses it (a fresh Python process). A ratio above 1 means the baseline
is slower than the editor's store at that step, which inflates the JSON/SQLite ratios above by
at most that much.

{speed_class_table(results)}

{_writes_section(results)}{_sidecar_section(results)}{_postgres_section(results)}## Peak memory of one call

Growth of the resident set during the first call in a fresh process (Linux high-water mark).

{memory_table(results)}

## A day of editor use (trace replay)

A model of a working day over the whole protocol (`bench/traces/day-v1.jsonl`: board badges,
filters, searches, deletes, status streams).

{trace_section(results)}

## The shipping editor's own calls (editor trace replay)

What the shipping front end and backend really call (`bench/editor_trace.py`): the board
loading every session and filtering in the web view, every competition and ensemble created
twice (the second refused by the contract on every store), the debate runner's round writes
(`upsert_session`), ChatPanel's whole-scrollback messages (tens to hundreds of KB, again at
every chat opened and with every reply), kanban moves and winner selection as whole-session
updates; no deletes, status updates or searches, which no shipping component calls. The
verdicts of the table above are about the scenario workloads; these are about this mix.

{trace_section(results, "editor_trace")}

## Stores

The workspace is a real folder (`/tmp/ait42-bench/workspace`), as the editor passes one, plus
background workspaces sharing the SQLite file.

{_builds(results)}

Sessions each single-session scenario touches (the one of median size among 15 candidates;
`update_session` alternates it with a version whose status, totals and times changed and whose
first instance completed with a line added to its output):

{_targets(results)}

## Cells not measured, and errors

{notes(results)}

## Charts

{chart_lines}

Raw values: `results.json` (pyperf also records each worker's load average in its run
metadata); pyperf files: `pyperf/<backend>-n<N>.json`, e.g.
`python -m pyperf compare_to pyperf/json-n100.json pyperf/sqlite-n100.json --table`.
"""


def write_all(results: dict[str, Any], out: Path) -> str:
    """Write ``report.md`` and the charts into ``out``; return the printed tables."""
    from .charts import draw_all

    charts = draw_all(results, out / "charts")
    (out / "report.md").write_text(scrub(render(results, charts)))
    for pyperf_file in sorted((out / "pyperf").glob("*.json")):
        res.scrub_file(pyperf_file)
    return tables(results)
