"""Benchmark harness: the SQLite store against the editor's JSON store, and the seed's targets.

Modules, one job each (see ``bench/README.md``; run ``python -m bench --help``):

- workloads: ``text`` (deterministic prose, code and logs), ``workloads`` (deterministic
  sessions, and how a workload travels to child processes);
- stores: ``stores`` (building, caching and copying the stores of a workload), ``loader``
  (the bulk load they are built with);
- what is measured: ``scenarios`` (a package: ``base`` - what a scenario is; ``reads`` and
  ``writes`` - the scenarios, one object each; ``data`` - what they ask of a workload),
  ``floors`` (the SQLite store's SQL through bare APSW and stdlib sqlite3), ``json_floor``
  (the editor's work on its file in bare msgspec), ``backends`` (opening a backend by name),
  ``sidecar_store`` (the SQLite store behind the real sidecar process, for the round trip),
  ``postgres_store`` (the workload loaded into PostgreSQL for backend ``postgres``) on a
  ``postgres_server`` (a throwaway local server, shared with the tests),
  ``speed_class`` (the JSON file through serde and msgspec);
- measuring: ``plan`` (what to run and how much: rounds, values, loops; time box and memory
  budget), ``measure`` (the child processes: build, probe, pyperf rounds), ``probe`` (one case
  in a fresh process: time and peak memory), ``pyperf_suite`` (the pyperf program), ``timing``
  (the timed loop), ``compare`` (a run, size by size);
- results: ``results`` (the results file, typed cells), ``stats`` (paired ratios, bootstrap
  intervals, projections), ``environment`` (commit, machine, versions, load; scrubbing this
  machine's paths), ``report`` and ``charts`` (output from saved results);
- ``trace``: a day of editor use, generated and replayed on both stores, and the replay of
  every trace (``TRACES``);
- ``editor_trace``: the shipping editor's own calls for a day, as a trace;
- long-lived writes: ``sustained`` (consecutive writes on one store each, checkpoints
  included and counted), ``open_loop`` (the editor's pace through the sidecar, per idle
  checkpoint setting);
- ``reliability``: a package, concurrent and SIGKILLed writers on both stores with lost writes
  counted: ``writes`` (the planned writes), ``workers`` (the writer processes and their
  acknowledgements), ``losses`` (the accounting), ``runs`` (the two scenarios), ``report``
  (the report and saved files), ``cli`` (its command line).
"""
