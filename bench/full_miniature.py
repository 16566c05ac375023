"""Every chapter's ``full`` recipes in miniature, each task in a process of its own: time and peak memory.

``full`` in miniature (``mstl_lib.papers.run_miniature``) runs every distinct recipe of the
papers' protocols once, at the papers' input sizes, backbones and heads, for a step or two on a
few images, from random initialisation. The numbers printed are each recipe's wall time and the
peak resident memory of its process (the ``isolated`` executor): what a ``full`` task needs
beyond its batches. They are not the ``full`` run's time.

Usage (from the repository root)::

    python bench/full_miniature.py                 # all four papers
    python bench/full_miniature.py p4_finetuning   # one
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RECIPE_FIELDS = ("tl", "backbone", "optimizer", "trainable_pct", "arm", "base", "input", "view", "image_size",
                 "image_shape", "work_size")


def main(argv=None) -> int:
    from mstl_lib import engine, papers
    from mstl_lib.__main__ import text_table
    from mstl_lib.engine.provenance import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("papers", nargs="*", default=list(papers.PAPER_PACKAGES))
    parser.add_argument("--executor", default="isolated", help="isolated (default: per-task peak memory) or local")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["MSTL_BUILD_DIR"] = str(Path(folder) / "build")
        store = engine.ResultsStore(Path(folder) / "results")
        rows, failed = [], 0
        for key in args.papers:
            start = time.perf_counter()
            papers.run_miniature(key, store, executor=args.executor)
            print(f"{key}: {time.perf_counter() - start:.0f} s", flush=True)
        for name in store.experiments():
            for record in store.records(name):
                recipe = " ".join(f"{k}={record['config'][k]}" for k in RECIPE_FIELDS if k in record["config"])
                failed += record["status"] != "done"
                rows.append((name, recipe, record["status"], f"{record['wall_time_s']:.1f}",
                             f"{record.get('peak_rss_mb') or 0:,.0f}"))
    print(f"\n{cpu_model()}, {os.cpu_count()} cores, Keras backend {os.environ.get('KERAS_BACKEND', 'default')}, "
          f"executor {args.executor}")
    print(text_table(rows, ("grid", "recipe", "status", "s", "peak MB")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
