"""Command line: ``python -m mstl_lib runs list | show <key> | failed | clear <experiment> | export [<experiment>]``
``python -m mstl_lib weights status | fetch [--profile P] [--chapter C ...]`` and
``python -m mstl_lib data status | fetch | verify | convert-ddti | downscale-busi``.

``runs export`` writes one row per task (experiment, key, fold, status, every configuration
value, every metric, the weights' kind, time, profile, seed, recipe version) as CSV or JSON,
to standard output or ``--out``: our numbers, for a spreadsheet or another analysis.

``runs`` reads the results store only (no TensorFlow, no pandas), so it answers at once.
``weights status`` checks the ImageNet files the chosen chapters need against their
published checksums (no TensorFlow); ``weights fetch`` downloads the missing ones, checks
them and converts torchvision checkpoints: run it on a login node before an offline run.

``data status`` lists every dataset: where it is looked for, its counts against the release's,
its checksum and how to get it. ``data fetch`` downloads what a script can (checked, unpacked,
verified, then moved in) and prints, for the rest, the page and the folder to put it in.
``data verify`` checks a folder fetched by hand; ``convert-ddti`` turns DDTI's official XML
release into the loader's layout; ``downscale-busi`` makes the 320 px BUSI copy the book ran on.

Exit codes: 0 done, 1 nothing found (unknown key or experiment, ambiguous
prefix; for ``weights``: a file still missing or failing its checksum), 2 usage
error (argparse, or ``clear`` refused without ``--yes``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mstl_lib.engine.store import AmbiguousKeyError, ResultsStore

OK, NOT_FOUND, USAGE = 0, 1, 2


def text_table(rows: list[Sequence], header: Sequence[str]) -> str:
    """Plain text table with left-aligned columns."""
    cells = [[str(c) for c in header]] + [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _short(value, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _metrics_text(metrics: dict | None, limit: int = 3) -> str:
    items = list((metrics or {}).items())[:limit]
    return " ".join(f"{k}={v:.4g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in items)


# --------------------------------------------------------------------------- commands


def cmd_list(store: ResultsStore, experiment: str | None) -> int:
    """Experiments with their counts, or one experiment's tasks."""
    if experiment is None:
        names = store.experiments()
        if not names:
            print(f"no experiments in {store.root}")
            return OK
        rows = []
        for name in names:
            records = store.records(name)
            done = sum(r["status"] == "done" for r in records)
            last = max((r.get("finished") or "" for r in records), default="")
            rows.append((name, len(records), done, len(records) - done, last[:19]))
        print(f"store: {store.root}")
        print(text_table(rows, ("experiment", "records", "done", "failed", "last finished (UTC)")))
        return OK
    if experiment not in store.experiments():
        print(f"no experiment {experiment!r} in {store.root}", file=sys.stderr)
        return NOT_FOUND
    rows = [
        (r["key"][:12], r["status"], r.get("fold"), _short(r.get("config"), 50),
         _metrics_text(r.get("metrics")), f"{r.get('wall_time_s') or 0:.1f}")
        for r in store.records(experiment)
    ]
    print(text_table(rows, ("key", "status", "fold", "config", "metrics", "time_s")))
    return OK


def record_summary(record: dict) -> dict:
    """A record without its bulky fields: predictions and history become sizes."""
    out = {k: v for k, v in record.items() if k not in ("predictions", "history")}
    predictions = record.get("predictions") or {}
    if predictions:
        n = len(next(iter(predictions.values())))
        out["predictions"] = f"{n} samples: {', '.join(predictions)}"
    history = record.get("history") or {}
    if history:
        n = max(len(v) for v in history.values())
        out["history"] = f"{n} epochs: {', '.join(history)}"
    return out


def cmd_show(store: ResultsStore, prefix: str, full: bool) -> int:
    """Print one record (summary, or all of it with ``full``) as JSON."""
    try:
        record = store.find(prefix)
    except AmbiguousKeyError as exc:
        print(exc, file=sys.stderr)
        return NOT_FOUND
    if record is None:
        print(f"no record with key {prefix!r} in {store.root}", file=sys.stderr)
        return NOT_FOUND
    print(json.dumps(record if full else record_summary(record), indent=2, allow_nan=True))
    return OK


def cmd_failed(store: ResultsStore, experiment: str | None) -> int:
    """Table of failed tasks with their error type and message."""
    if experiment is not None and experiment not in store.experiments():
        print(f"no experiment {experiment!r} in {store.root}", file=sys.stderr)
        return NOT_FOUND
    failed = store.records(experiment, status="failed")
    if not failed:
        print("no failed tasks")
        return OK
    rows = [
        (r["experiment"], r["key"][:12], r.get("fold"), _short(r.get("config"), 40),
         (r.get("error") or {}).get("kind"), (r.get("error") or {}).get("type"),
         _short((r.get("error") or {}).get("message") or "", 60))
        for r in failed
    ]
    print(text_table(rows, ("experiment", "key", "fold", "config", "kind", "error", "message")))
    return OK


def cmd_clear(store: ResultsStore, experiment: str, yes: bool) -> int:
    """Delete an experiment's records, after confirmation."""
    if experiment not in store.experiments():
        print(f"no experiment {experiment!r} in {store.root}", file=sys.stderr)
        return NOT_FOUND
    n = len(store.keys(experiment))
    if not yes:
        if not sys.stdin.isatty():
            print(f"refusing to delete {n} records of {experiment!r} without --yes", file=sys.stderr)
            return USAGE
        answer = input(f"delete {n} records of {experiment!r} in {store.root}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return OK
    store.clear(experiment)
    print(f"deleted {n} records of {experiment!r}")
    return OK


EXPORT_FIELDS = ("experiment", "key", "fold", "status", "profile", "seed", "code_version", "weights", "wall_time_s",
                 "finished", "error")
"""The fixed columns of ``runs export``; ``config.<name>`` and ``metrics.<name>`` columns follow."""


def export_rows(records: Sequence[dict]) -> list[dict]:
    """One flat row per record: :data:`EXPORT_FIELDS`, then ``config.*`` and ``metrics.*`` (numbers stay numbers)."""
    from mstl_lib.nn.weights import weights_entries, weights_kinds  # noqa: PLC0415 - no TensorFlow

    rows = []
    for record in records:
        row = {name: record.get(name) for name in EXPORT_FIELDS}
        row["weights"] = ";".join(weights_kinds(weights_entries([record])))
        row["error"] = (record.get("error") or {}).get("message")
        row.update({f"config.{k}": v if isinstance(v, (int, float, str, bool, type(None))) else json.dumps(v)
                    for k, v in (record.get("config") or {}).items()})
        row.update({f"metrics.{k}": v for k, v in (record.get("metrics") or {}).items()})
        rows.append(row)
    return rows


def cmd_export(store: ResultsStore, experiment: str | None, fmt: str, out: str | None) -> int:
    """Write every record of ``experiment`` (or of the whole store) as flat rows, CSV or JSON."""
    import csv  # noqa: PLC0415

    if experiment is not None and experiment not in store.experiments():
        print(f"no experiment {experiment!r} in {store.root}", file=sys.stderr)
        return NOT_FOUND
    rows = export_rows(store.records(experiment))
    columns = list(dict.fromkeys(name for row in rows for name in row)) or list(EXPORT_FIELDS)
    handle = open(out, "w", encoding="utf-8", newline="") if out else sys.stdout  # noqa: SIM115
    try:
        if fmt == "json":
            json.dump(rows, handle, indent=1, allow_nan=True)
            handle.write("\n")
        else:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if out:
            handle.close()
    if out:
        print(f"{len(rows)} records -> {out}", file=sys.stderr)
    return OK


# --------------------------------------------------------------------------- weights


def _weights_needed(profile: str, chapters: Sequence[str] | None) -> dict[str, list[str]]:
    """Backbone -> the chapters (labels) that need its ImageNet weights under ``profile``."""
    from mstl_lib import papers  # noqa: PLC0415 - pandas, not TensorFlow

    needed: dict[str, list[str]] = {}
    for key, backbones in papers.weights_backbones(profile, chapters).items():
        for backbone in backbones:
            needed.setdefault(backbone, []).append(papers.module(key).PAPER.label)
    return needed


def _weights_rows(needed: dict[str, list[str]]) -> tuple[list[tuple], int]:
    from mstl_lib.nn import weights  # noqa: PLC0415 - no TensorFlow

    rows, unusable = [], 0
    for backbone, chapters in needed.items():
        found = weights.weights_file_check(backbone)
        unusable += not found.usable
        rows.append((backbone, ",".join(chapters), weights.weights_file_name(backbone), str(Path(found.path).parent),
                     found.status, f"{found.size:,}" if found.size else "", found.detail))
    return rows, unusable


WEIGHTS_HEADER = ("backbone", "chapters", "file", "folder", "status", "bytes", "checksum")


def cmd_weights_status(profile: str, chapters: Sequence[str] | None) -> int:
    """One row per ImageNet file the chapters need: where it is looked for, present or not, its checksum."""
    rows, unusable = _weights_rows(_weights_needed(profile, chapters))
    print(f"ImageNet weights for profile {profile} (KERAS_HOME={os.environ.get('KERAS_HOME', '~/.keras')}):")
    print(text_table(rows, WEIGHTS_HEADER))
    if unusable:
        print(f"{unusable} of {len(rows)} files missing or not the published ones: "
              f"`python -m mstl_lib weights fetch --profile {profile}` downloads and checks them")
    return NOT_FOUND if unusable else OK


def cmd_weights_fetch(profile: str, chapters: Sequence[str] | None, timeout: float) -> int:
    """Download, check (and convert) every missing file; one line per file that could not be had."""
    from mstl_lib import downloads  # noqa: PLC0415
    from mstl_lib.nn import weights  # noqa: PLC0415

    failed = []
    for backbone in _weights_needed(profile, chapters):
        found = weights.weights_file_check(backbone)
        download = downloads.weights_download(backbone)
        if found.usable:
            continue
        if found.status == downloads.MISMATCH:
            failed.append(f"{backbone}: {found.path} is not the published file ({found.detail}); delete it and "
                          "fetch again")
            continue
        try:
            path = weights.fetch_weights(backbone, timeout=timeout)
            print(f"{backbone}: {path} ({weights.weights_file_check(backbone).detail})")
        except (downloads.DownloadError, downloads.ChecksumError, ImportError) as error:
            how = ("" if not download.converted_file else
                   f"; then mstl_lib.nn.torch_weights.convert_checkpoint('{backbone}', '<the .pth file>') writes "
                   f"{found.path}")
            failed.append(f"{backbone}: {str(error).splitlines()[0]}{how}")
    rows, unusable = _weights_rows(_weights_needed(profile, chapters))
    print(text_table(rows, WEIGHTS_HEADER))
    for line in failed:
        print(line, file=sys.stderr)
    return NOT_FOUND if unusable else OK


# --------------------------------------------------------------------------- data

DATA_HEADER = ("dataset", "folder", "status", "counts", "checksum")


def _data_dir(value: str | None) -> Path:
    from mstl_lib.data.acquire import default_data_dir  # noqa: PLC0415 - pandas, only for data commands

    return Path(value).expanduser() if value else default_data_dir()


def cmd_data_status(data_dir: str | None, names: Sequence[str]) -> int:
    """One row per dataset: folder, verified or not, counts, checksum; then how to get what is missing."""
    from mstl_lib.data import acquire  # noqa: PLC0415

    folder = _data_dir(data_dir)
    statuses = acquire.all_statuses(folder, names or None)
    rows = [(s.dataset, s.folder, s.state, s.verification.counts() if s.verification else "", s.checksum)
            for s in statuses]
    print(f"data folder: {folder}")
    print(text_table(rows, DATA_HEADER))
    for status in statuses:
        if status.found and not status.ok:
            print(f"{status.dataset}: {'; '.join(status.verification.problems)}")
        if not status.ok:
            print(f"{status.dataset}: {status.how}")
    known = {s.dataset: s for s in statuses}
    for name in names:  # asked by name: everything known about getting it
        status = known.get(acquire.get_info(name).name)
        print("\n" + acquire.dataset_card(name, folder, status))
    return OK if all(s.ok for s in statuses) else NOT_FOUND


def cmd_data_fetch(data_dir: str | None, names: Sequence[str], timeout: float) -> int:
    """Fetch each dataset a script can fetch; one line per dataset, done or what to do instead."""
    from mstl_lib.data import acquire  # noqa: PLC0415

    folder = _data_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name in names or list(acquire.EXPECTED):
        try:
            print(acquire.fetch_dataset(name, folder, timeout=timeout))
        except acquire.FetchError as error:
            failed += 1
            print(str(error), file=sys.stderr)
    return NOT_FOUND if failed else OK


def cmd_data_verify(name: str, folder: str | None, data_dir: str | None) -> int:
    """Check one dataset's folder against the release's counts."""
    from mstl_lib.data import acquire  # noqa: PLC0415
    from mstl_lib.data.registry import DatasetNotFoundError, dataset_root  # noqa: PLC0415

    try:
        root = Path(folder).expanduser() if folder else dataset_root(_data_dir(data_dir), name)
    except DatasetNotFoundError as error:
        print(str(error).splitlines()[0] + " " + str(error).splitlines()[1], file=sys.stderr)
        return NOT_FOUND
    found = acquire.verify_dataset(name, root)
    print(f"{found.dataset} at {root}: {'verified' if found.ok else 'differs from the release'}: {found.summary()}")
    expected = acquire.EXPECTED.get(found.dataset)
    if expected:
        print(f"expected counts: {expected.source}")
    return OK if found.ok else NOT_FOUND


def cmd_data_convert(kind: str, source: str, out: str | None, data_dir: str | None, max_side: int) -> int:
    """``convert-ddti`` or ``downscale-busi``: write the converted copy, then verify it."""
    from mstl_lib.data import acquire, ddti_xml, downscale  # noqa: PLC0415

    name = "ddti" if kind == "convert-ddti" else "busi"
    target = Path(out).expanduser() if out else _data_dir(data_dir) / name
    if kind == "convert-ddti":
        print(ddti_xml.conversion_summary(ddti_xml.convert_ddti(source, target), target))
    else:
        result = downscale.downscale_busi(source, target, max_side)
        print(f"{sum(result['files'].values())} files -> {target} ({result['resized']} downscaled to a longest side "
              f"of {max_side} px)")
    found = acquire.verify_dataset(name, target)
    print(f"{name}: {'verified' if found.ok else 'differs from the release'}: {found.summary()}")
    return OK if found.ok else NOT_FOUND


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m mstl_lib`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m mstl_lib", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    runs = commands.add_parser("runs", help="inspect the experiment results store")
    store_option = argparse.ArgumentParser(add_help=False)
    store_option.add_argument("--store", default=None, help="store folder (default MSTL_RESULTS_DIR or <repo>/results)")
    actions = runs.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", parents=[store_option], help="experiments and counts, or one experiment's tasks")
    listing.add_argument("experiment", nargs="?")
    show = actions.add_parser("show", parents=[store_option], help="one record (key prefix accepted)")
    show.add_argument("key")
    show.add_argument("--full", action="store_true", help="include predictions and history")
    failed = actions.add_parser("failed", parents=[store_option], help="failed tasks with their errors")
    failed.add_argument("experiment", nargs="?")
    clear = actions.add_parser("clear", parents=[store_option], help="delete an experiment's records")
    clear.add_argument("experiment")
    clear.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    export = actions.add_parser("export", parents=[store_option],
                                help="every task as a flat row (config, metrics, weights kind): CSV or JSON")
    export.add_argument("experiment", nargs="?", help="one experiment (default: the whole store)")
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="default: csv")
    export.add_argument("--out", default=None, help="file to write (default: standard output)")

    weights = commands.add_parser("weights", help="the ImageNet weights files the chapters need")
    which = argparse.ArgumentParser(add_help=False)
    which.add_argument("--profile", default="cpu", choices=("smoke", "cpu", "full"), help="default: cpu")
    which.add_argument("--chapter", action="append", default=None,
                       help="a chapter (P1, 03_multistage, p1_mstl, ...); repeat for several; default: all")
    weights_actions = weights.add_subparsers(dest="action", required=True)
    weights_actions.add_parser("status", parents=[which], help="present, missing or failing its checksum, per file")
    fetch = weights_actions.add_parser("fetch", parents=[which], help="download, check and convert the missing files")
    fetch.add_argument("--timeout", type=float, default=60.0, help="seconds per download request (default 60)")

    data = commands.add_parser("data", help="the datasets: status, fetch, verify, convert")
    folder_option = argparse.ArgumentParser(add_help=False)
    folder_option.add_argument("--data-dir", default=None,
                               help="the data folder (default: the first that exists of MSTL_DATA_DIR, "
                                    "../shared/data and ~/mstl_data; else ~/mstl_data)")
    data_actions = data.add_subparsers(dest="action", required=True)
    status = data_actions.add_parser("status", parents=[folder_option],
                                     help="every dataset: here, verified, how to get; one by name: its terms, "
                                          "citation, mirrors and layout too")
    status.add_argument("dataset", nargs="*")
    data_fetch = data_actions.add_parser("fetch", parents=[folder_option],
                                         help="download, check, unpack and verify (default: every public dataset)")
    data_fetch.add_argument("dataset", nargs="*")
    data_fetch.add_argument("--timeout", type=float, default=60.0, help="seconds per download request (default 60)")
    verify = data_actions.add_parser("verify", parents=[folder_option], help="a folder against the release's counts")
    verify.add_argument("dataset")
    verify.add_argument("folder", nargs="?", help="default: the dataset's folder in the data folder")
    for kind, what in (("convert-ddti", "DDTI's official release (one XML per case) into the loader's layout"),
                       ("downscale-busi", "the BUSI copy the book ran on, from the original release")):
        convert = data_actions.add_parser(kind, parents=[folder_option], help=what)
        convert.add_argument("source", help="the official release's folder")
        convert.add_argument("out", nargs="?", help="a new folder (default: <data folder>/ddti or /busi)")
        convert.add_argument("--max-side", type=int, default=320, help="downscale-busi only (default 320)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "data":
        return data_main(args)
    if args.command == "weights":
        try:
            if args.action == "status":
                return cmd_weights_status(args.profile, args.chapter)
            return cmd_weights_fetch(args.profile, args.chapter, args.timeout)
        except (KeyError, ValueError) as exc:  # an unknown chapter, an unreadable manifest
            print(str(exc).strip("'\""), file=sys.stderr)
            return USAGE
    store = ResultsStore(args.store)
    try:
        if args.action == "list":
            return cmd_list(store, args.experiment)
        if args.action == "show":
            return cmd_show(store, args.key, args.full)
        if args.action == "failed":
            return cmd_failed(store, args.experiment)
        if args.action == "export":
            return cmd_export(store, args.experiment, args.format, args.out)
        return cmd_clear(store, args.experiment, args.yes)
    except ValueError as exc:  # an invalid experiment name
        print(exc, file=sys.stderr)
        return NOT_FOUND


def data_main(args: argparse.Namespace) -> int:
    """The ``data`` commands; an unknown dataset or an unusable folder is a usage error in one line."""
    from mstl_lib.data.registry import DatasetLayoutError  # noqa: PLC0415

    try:
        if args.action == "status":
            return cmd_data_status(args.data_dir, args.dataset)
        if args.action == "fetch":
            return cmd_data_fetch(args.data_dir, args.dataset, args.timeout)
        if args.action == "verify":
            return cmd_data_verify(args.dataset, args.folder, args.data_dir)
        return cmd_data_convert(args.action, args.source, args.out, args.data_dir, args.max_side)
    except (KeyError, FileExistsError, DatasetLayoutError, ValueError) as exc:
        print(str(exc).strip("'\""), file=sys.stderr)
        return USAGE


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into `head`
        sys.stderr.close()
        sys.exit(OK)
