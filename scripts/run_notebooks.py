"""Execute the book's notebooks from their py:percent sources.

Each ``notebooks/<name>.py`` is converted by jupytext and piped into
papermill, which writes the executed notebook to ``build/notebooks/``. The
sources are never touched. Which notebooks: those ``_toc.yml`` lists under
``build/notebooks/`` (or the names given).

    python scripts/run_notebooks.py --profile smoke
    python scripts/run_notebooks.py 01_datasets -p data_dir /my/data
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from mstl_lib.paths import notebooks_build_dir

ROOT = Path(__file__).resolve().parent.parent
OUT = notebooks_build_dir()


def book_notebooks(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """Names of the executed notebooks the book lists, in order."""
    return re.findall(r"file:\s*build/notebooks/(\S+)", toc.read_text())


def execute(name: str, parameters: dict[str, str], out_dir: Path = OUT) -> float:
    """Execute one notebook; return its wall time in seconds. Raises on failure."""
    source = ROOT / "notebooks" / f"{name}.py"
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist (listed in _toc.yml?)")
    out_dir.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    params = [arg for key, value in parameters.items() for arg in ("-p", key, str(value))]
    start = time.perf_counter()
    to_ipynb = subprocess.Popen(
        [bin_dir / "jupytext", "--to", "ipynb", "--output", "-", source], stdout=subprocess.PIPE
    )
    run = subprocess.run(
        [bin_dir / "papermill", "-", out_dir / f"{name}.ipynb", "--cwd", ROOT / "notebooks",
         "--kernel", "python3", "--no-progress-bar", "--log-level", "WARNING", *params],
        stdin=to_ipynb.stdout,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    to_ipynb.stdout.close()
    if to_ipynb.wait() != 0 or run.returncode != 0:
        sys.stderr.write(run.stderr)
        raise RuntimeError(
            f"notebook {name} failed (see the traceback above); "
            f"its partial output is in {out_dir / (name + '.ipynb')}"
        )
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all in _toc.yml)")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--data-dir", default="auto")
    parser.add_argument("--weights", default="auto")
    parser.add_argument("--seed", default="0")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="extra papermill parameter")
    args = parser.parse_args(argv)
    parameters = {"profile": args.profile, "data_dir": args.data_dir,
                  "weights": args.weights, "seed": args.seed, **dict(args.parameter)}
    failed = []
    for name in args.names or book_notebooks():
        print(f"== {name} (profile={args.profile})", flush=True)
        try:
            print(f"   done in {execute(name, parameters):.1f} s", flush=True)
        except (RuntimeError, FileNotFoundError) as err:
            print(f"   FAILED: {err}", flush=True)
            failed.append(name)
    if failed:
        print(f"failed notebooks: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
