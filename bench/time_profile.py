"""Where the last book run's time went: one table per chapter, from its records.

Run it after ``make book`` (any profile)::

    python bench/time_profile.py
    python bench/time_profile.py --results results --notebooks build/notebooks

Each chapter's window is its executed notebook's start and end (papermill's
metadata); the tasks that started in it are the ones it trained (records from
the cache cost nothing and are left out). Per chapter the table lists the fixed
costs first (a worker's start, imports, model build, tracing), each group
largest first, then the per-step phases, the rest of the tasks' own code
(``other``) and the notebook's own time outside tasks (``notebook``). Every
figure is a share of that chapter's wall time in the same run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mstl_lib.engine import ResultsStore  # noqa: E402
from mstl_lib.engine.provenance import cpu_model  # noqa: E402
from mstl_lib.paths import notebooks_build_dir, results_dir  # noqa: E402
from mstl_lib.report.time_profile import format_profile, notebook_window, profile_chapters  # noqa: E402
from mstl_lib.timing import PHASES  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=results_dir(), help="the results store")
    parser.add_argument("--notebooks", type=Path, default=notebooks_build_dir(), help="the executed notebooks")
    args = parser.parse_args(argv)
    windows = [w for w in map(notebook_window, sorted(args.notebooks.glob("*.ipynb"))) if w is not None]
    if not windows:
        print(f"no executed notebook with papermill times in {args.notebooks}: run make book first")
        return 1
    store = ResultsStore(args.results)
    records = [r for name in store.experiments() for r in store.records(name)]
    profiles = profile_chapters(windows, records)
    total = sum(p.window.seconds for p in profiles)
    print(f"{cpu_model()}: {len(profiles)} chapters, {total:.0f} s ({total / 60:.1f} min)")
    print(f"{'chapter':<24} {'seconds':>8} {'tasks':>6} {'in tasks':>9} {'fixed':>7} {'notebook':>9}")
    for p in profiles:
        fixed = sum(s for _, kind, s in p.rows() if kind == "fixed")
        print(f"{p.window.name:<24} {p.window.seconds:8.0f} {p.tasks:6d} {p.task_seconds:9.0f} {fixed:7.0f} "
              f"{p.outside_tasks:9.0f}")
    for p in profiles:
        print()
        print(format_profile(p))
    print("\nphases: " + "; ".join(f"{k}: {v}" for k, v in PHASES.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
