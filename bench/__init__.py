"""Benchmark harness: the SQLite core against the editor's JSON store, and the seed's targets.

Modules, one job each: ``text`` and ``workloads`` (deterministic sessions), ``loader`` and
``stores`` (building, caching and copying stores), ``scenarios`` (the operations, through the
repository protocol, with answer checks), ``floors`` (the same SQL through bare APSW and stdlib
sqlite3), ``json_floor`` (the editor's work on its file in bare msgspec), ``speed_class`` (the
JSON file through serde and msgspec), ``backends`` (opening a backend by name), ``timing`` (the timed loop), ``probe`` (one
case in a fresh process: time and peak memory), ``pyperf_suite`` (the pyperf program), ``plan``
(rounds, values, loops, time box), ``stats`` (paired ratios, bootstrap intervals, projections),
``results`` (the results file), ``environment`` (commit, machine, versions, load), ``compare``
(the run), ``report`` and ``charts`` (output from saved results), ``trace`` (a day of editor
use, generated and replayed). ``reliability`` (concurrent and SIGKILLed writers on both stores,
lost writes counted) is a package: ``writes`` (the planned writes), ``workers`` (the writer
processes and their acknowledgements), ``losses`` (the loss accounting), ``runs`` (the two
scenarios), ``report`` (the report and saved files), ``cli`` (its command line).
See ``bench/README.md``; run ``python -m bench --help``.
"""
