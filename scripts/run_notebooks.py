"""Execute the book's notebooks from their py:percent sources, with live progress.

Each ``notebooks/<name>.py`` is converted by jupytext and piped into
papermill, which writes the executed notebook to ``build/notebooks/``. The
sources are never touched. Which notebooks: those ``_toc.yml`` lists under
``build/notebooks/`` (or the names given).

While a notebook runs, the terminal shows which chapter and which cell are
running and, for every grid of experiments, tasks done of total with an ETA
(the engine writes them to ``$MSTL_PROGRESS_FILE``; the notebooks themselves
stay clean). At the end a table gives each chapter's time, tasks trained,
tasks from cache, failures and peak memory.

    python scripts/run_notebooks.py --profile smoke
    python scripts/run_notebooks.py 01_datasets -p data_dir /my/data
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mstl_lib.engine.progress import ENV as PROGRESS_ENV
from mstl_lib.report.exports import TABLES_ENV
from mstl_lib.engine.progress import chapter_of, eta_seconds, grid_events, read_events, summarize
from mstl_lib.report import run_times
from mstl_lib.paths import notebooks_build_dir, progress_dir

ROOT = Path(__file__).resolve().parent.parent
OUT = notebooks_build_dir()
POLL_S = 1.0


@dataclass
class ChapterRun:
    """What executing one notebook cost."""

    name: str
    seconds: float
    trained: int = 0
    cached: int = 0
    failed: int = 0
    peak_rss_mb: float = 0.0
    ok: bool = True
    profile: str = ""
    budget_minutes: float | None = None


def book_notebooks(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """Names of the executed notebooks the book lists, in order."""
    return re.findall(r"file:\s*build/notebooks/(\S+)", toc.read_text())


def execution_order(names: list[str]) -> list[str]:
    """``names`` in the order they must run: by file name (its number), so that pages placed early in the
    book but reading other chapters' records (the scorecard, the audit) run after those chapters."""
    return sorted(names)


def running_cell(notebook: Path) -> tuple[int, int, str] | None:
    """(index, number of code cells, first line) of the cell papermill is executing, from its saved output."""
    try:
        cells = [c for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    except (OSError, ValueError, KeyError):
        return None
    for index, cell in enumerate(cells, start=1):
        if cell.get("metadata", {}).get("papermill", {}).get("status") == "running":
            source = "".join(cell.get("source", "")).strip().splitlines()
            return index, len(cells), (source[0][:60] if source else "")
    return None


def merge_parameter_cells(notebook: Path) -> None:
    """Show a notebook's parameters once: its defaults with the values papermill injected.

    Papermill leaves the ``parameters`` cell (the defaults) and adds an
    ``injected-parameters`` cell after it, so a page would show both. The injected
    cell becomes the defaults with the injected values in their place (the same
    state the two cells leave when run in turn) and the defaults cell is tagged
    ``remove-cell``, so the book shows one block.
    """
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    tagged = {tag: cell for cell in nb["cells"] for tag in cell.get("metadata", {}).get("tags", [])}
    defaults, injected = tagged.get("parameters"), tagged.get("injected-parameters")
    if defaults is None or injected is None or "remove-cell" in defaults["metadata"]["tags"]:
        return

    assignment = re.compile(r"(\w+)\s*(?::[^=]*)?=[^#]*(#.*)?$")  # name[: type] = value  [# help]

    def assignments(cell) -> dict[str, str]:
        lines = "".join(cell["source"]).splitlines()
        return {m.group(1): line for line in lines if (m := assignment.match(line))}

    values = assignments(injected)
    merged = ["# Parameters of this run: the notebook's defaults, with those passed to papermill"]
    for line in "".join(defaults["source"]).splitlines():
        found = assignment.match(line)
        if found and found.group(1) in values:  # the value passed, with the default's help comment
            line = values.pop(found.group(1)) + (f"  {found.group(2)}" if found.group(2) else "")
        merged.append(line)
    merged += values.values()
    injected["source"] = "\n".join(merged)
    defaults["metadata"]["tags"].append("remove-cell")
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _tree_rss_mb(pid: int) -> float:
    try:
        import psutil  # noqa: PLC0415
    except ImportError:
        return 0.0
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def _status(name: str, cell, events: list[dict]) -> str:
    """One line: the running cell, the grid whose tasks are running (done/total, ETA) and the grids finished."""
    parts = [f"   [{name}]"]
    if cell:
        parts.append(f"cell {cell[0]}/{cell[1]}: {cell[2]}")
    last = {}
    for event in grid_events(events):
        last[event["grid"]] = event
    finished = [e for e in last.values() if e["event"] == "end"]
    for grid, event in last.items():
        if event["event"] == "end":
            continue
        done = event["cached"] + event["trained"] + event["failed"]
        eta = eta_seconds(event)
        parts.append(f"| grid {grid}: {done}/{event['total']} tasks (cached {event['cached']}, failed "
                     f"{event['failed']}, {f'ETA {eta:.0f} s' if eta is not None else 'first task running'})")
    if finished:
        trained = sum(e["trained"] for e in finished)
        cached = sum(e["cached"] for e in finished)
        parts.append(f"| {len(finished)} grid(s) finished: {trained} trained, {cached} from cache")
    return " ".join(parts)


def progress_file(name: str) -> Path:
    """This runner's progress file for chapter ``name``: one per process, so that two runs at once
    (a ``make book`` and the tests, say) never read or delete each other's events."""
    return progress_dir() / f"{name}-{os.getpid()}.jsonl"


def run_chapter(name: str, parameters: dict[str, str], out_dir: Path = OUT, live: bool = True) -> ChapterRun:
    """Execute one notebook, showing progress on stdout; raises ``RuntimeError`` when it fails."""
    source = ROOT / "notebooks" / f"{name}.py"
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist (listed in _toc.yml?)")
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = progress_file(name)
    progress.parent.mkdir(parents=True, exist_ok=True)
    progress.unlink(missing_ok=True)
    output = out_dir / f"{name}.ipynb"
    bin_dir = Path(sys.executable).parent
    params = [arg for key, value in parameters.items() for arg in ("-p", key, str(value))]
    start = time.perf_counter()
    errors = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a long traceback cannot block papermill
    to_ipynb = subprocess.Popen([bin_dir / "jupytext", "--to", "ipynb", "--output", "-", source],
                                stdout=subprocess.PIPE)
    run = subprocess.Popen(
        [bin_dir / "papermill", "-", output, "--cwd", ROOT / "notebooks", "--kernel", "python3",
         "--no-progress-bar", "--log-level", "WARNING", *params],
        stdin=to_ipynb.stdout, stderr=errors, text=True,
        env={**os.environ, PROGRESS_ENV: str(progress), TABLES_ENV: str(out_dir / "tables" / name)},
    )
    to_ipynb.stdout.close()
    peak, shown, tty = 0.0, "", sys.stdout.isatty()
    while run.poll() is None:
        peak = max(peak, _tree_rss_mb(run.pid))
        if live:
            line = _status(name, running_cell(output), read_events(progress))
            if line != shown:
                print(("\r\033[K" + line[:200]) if tty else line, end="" if tty else "\n", flush=True)
                shown = line
        time.sleep(POLL_S)
    errors.seek(0)
    stderr = errors.read()
    errors.close()
    if live and tty and shown:
        print(flush=True)
    events = read_events(progress)
    progress.unlink(missing_ok=True)
    totals, settings = summarize(events), chapter_of(events)
    chapter = ChapterRun(name, time.perf_counter() - start, totals["trained"], totals["cached"], totals["failed"],
                         round(peak, 1), profile=settings.get("profile", parameters.get("profile", "")),
                         budget_minutes=settings.get("budget_minutes"))
    if output.is_file():
        merge_parameter_cells(output)
    if to_ipynb.wait() != 0 or run.returncode != 0:
        sys.stderr.write(stderr)
        raise RuntimeError(f"notebook {name} failed (see the traceback above); its partial output is in {output}")
    return chapter


def execute(name: str, parameters: dict[str, str], out_dir: Path = OUT) -> float:
    """Execute one notebook quietly; return its wall time in seconds. Raises on failure."""
    return run_chapter(name, parameters, out_dir, live=False).seconds


def summary_table(chapters: list[ChapterRun]) -> str:
    """The end-of-run table: chapter, time, tasks trained, from cache, failures, peak memory."""
    header = f"{'chapter':<22} {'time':>9} {'trained':>8} {'cached':>7} {'failed':>7} {'peak MB':>8}  status"
    rows = [f"{c.name:<22} {c.seconds:>8.1f}s {c.trained:>8} {c.cached:>7} {c.failed:>7} {c.peak_rss_mb:>8.0f}  "
            f"{'ok' if c.ok else 'FAILED'}" for c in chapters]
    total = sum(c.seconds for c in chapters)
    return "\n".join([header, "-" * len(header), *rows, "-" * len(header), f"{'all':<22} {total:>8.1f}s"])


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
    chapters = []
    for name in execution_order(args.names or book_notebooks()):
        print(f"== {name} (profile={args.profile})", flush=True)
        try:
            chapter = run_chapter(name, parameters)
            print(f"   done in {chapter.seconds:.1f} s", flush=True)
        except (RuntimeError, FileNotFoundError) as err:
            print(f"   FAILED: {err}", flush=True)
            chapter = ChapterRun(name, 0.0, ok=False, profile=args.profile)
        chapters.append(chapter)
        run_times.record(asdict(chapter))
    print(summary_table(chapters), flush=True)
    print(f"chapter times for the landing page: {run_times.write_page(args.profile)}", flush=True)
    failed = [c.name for c in chapters if not c.ok]
    if failed:
        print(f"failed notebooks: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
