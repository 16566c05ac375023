"""pytest on one process against pytest-xdist workers: the wall time of the same tests, and the ratio.

``make test`` runs ``pytest -n 2 --dist loadgroup`` (tests that share a costly fixture go to
one worker, ``tests/conftest.py``). This bench runs the chosen test paths once per worker
count, alternating, each in a fresh pytest process with its own temporary folders, and prints
the wall times and each count's ratio to the first. It does not run the whole suite by default:
the default paths are the library's unit tests, where most tests build small networks.

Usage (from the repository root)::

    python bench/test_workers.py                              # tests/nn tests/engine tests/report tests/evaluation
    python bench/test_workers.py --workers 0 2 --repeat 2 tests/data
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_PATHS = ("tests/nn", "tests/engine", "tests/report", "tests/evaluation")


def run_pytest(paths, workers: int) -> tuple[float, int]:
    """Wall seconds and exit code of ``pytest -q -n workers --dist loadgroup paths`` in a fresh process."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MSTL_RESULTS_DIR": str(Path(folder) / "results"),
               "MSTL_BUILD_DIR": str(Path(folder) / "build")}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers),
                   "--dist", "loadgroup", "--basetemp", str(Path(folder) / "tmp"), *paths]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        return time.perf_counter() - start, done.returncode


def main(argv=None) -> int:
    from mstl_lib.__main__ import text_table
    from mstl_lib.engine.provenance import cpu_model, usable_cpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    parser.add_argument("--workers", nargs="+", type=int, default=[0, 2], help="worker counts (0: one process)")
    parser.add_argument("--repeat", type=int, default=1, help="alternating rounds")
    args = parser.parse_args(argv)
    times: dict[int, list[float]] = {n: [] for n in args.workers}
    for _ in range(args.repeat):
        for n in args.workers:
            seconds, code = run_pytest(args.paths, n)
            if code != 0:
                print(f"pytest -n {n} failed (exit {code}); its time is not comparable", file=sys.stderr)
                return code
            times[n].append(seconds)
    base = min(times[args.workers[0]])
    rows = [[str(n), f"{min(t):.0f}", f"{base / min(t):.2f}x"] for n, t in times.items()]
    print(f"{cpu_model()}, {usable_cpus()} usable cores; paths: {' '.join(args.paths)}; best of {args.repeat}")
    print(text_table(rows, ["workers", "wall s", f"speed-up vs {args.workers[0]}"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
