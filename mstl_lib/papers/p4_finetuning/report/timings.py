"""Where the time goes: task timings and the freeze-cache benchmark."""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
import pandas as pd

from mstl_lib.papers.p4_finetuning import protocol
from mstl_lib.papers.p4_finetuning.report.records import BENCHMARK_FILE, KEY
from mstl_lib.paths import bench_dir


def timing_frame(raw: Iterable[dict]) -> pd.DataFrame:
    """Per finished task: frozen count, cached or not, caching cost, epoch times (the first traces)."""
    rows = []
    for record in raw:
        if record.get("status") != "done":
            continue
        extra, config, context = record.get("extra") or {}, record["config"], record.get("context") or {}
        epochs = extra.get("epoch_seconds") or []
        dataset = context.get("dataset")
        rows.append({"dataset": protocol.PAPER_DATASET.get(dataset, dataset), "protocol": context.get("grouping", "none"),
                     "backbone": config["backbone"], "trainable_pct": config["trainable_pct"],
                     "fold": record["fold"], "n_frozen": extra.get("n_frozen"), "cached": extra.get("cached"),
                     "cache_s": extra.get("cache_seconds"), "cache_MB": (extra.get("cache_bytes") or 0) / 1e6,
                     "first_epoch_s": epochs[0] if epochs else np.nan,
                     "later_epoch_s": float(np.mean(epochs[1:])) if len(epochs) > 1 else np.nan,
                     "svm_s": extra.get("svm_seconds"), "task_s": record.get("wall_time_s")})
    return pd.DataFrame(rows, columns=["dataset", "protocol", "backbone", "trainable_pct", "fold", "n_frozen",
                                       "cached", "cache_s", "cache_MB", "first_epoch_s", "later_epoch_s",
                                       "svm_s", "task_s"])


def timing_summary(timings: pd.DataFrame) -> pd.DataFrame:
    """:func:`timing_frame` averaged per dataset, backbone and strategy (``cached``: share of tasks)."""
    if timings.empty:
        return timings
    numeric = timings.assign(cached=timings["cached"].astype(float))
    columns = ["n_frozen", "cached", "cache_s", "cache_MB", "first_epoch_s", "later_epoch_s", "svm_s", "task_s"]
    return numeric.groupby(KEY)[columns].mean().round(2)


def benchmark_path():
    """Where ``bench/freeze_cache.py`` writes its measurements (``build/bench/``, git-ignored)."""
    return bench_dir() / BENCHMARK_FILE


def load_benchmark() -> pd.DataFrame | None:
    """The last ``bench/freeze_cache.py`` measurements (``attrs["meta"]``), or None when not run here."""
    path = benchmark_path()
    if not path.is_file():
        return None
    payload = json.loads(path.read_text())
    frame = pd.DataFrame(payload["rows"])
    frame.attrs["meta"] = payload.get("meta", {})
    return frame


def benchmark_summary(bench: pd.DataFrame | None, goal: float = 10.0) -> str:
    """The benchmark's rows as sentences, and whether the cache reaches ``goal`` x at 0-15 % trainable."""
    if bench is None or bench.empty:
        return "`bench/freeze_cache.py` has not been run on this machine."
    lines = [f"Benchmark (`bench/freeze_cache.py`, {bench.attrs.get('meta', {}).get('summary', 'this machine')}): "
             "time per epoch naive vs cached, ratio, one-off caching cost:"]
    cached = bench[bench["n_frozen"] >= 1] if "n_frozen" in bench.columns else bench
    for row in cached.itertuples():
        lines.append(f"- {row.backbone}, {row.trainable_pct} % trainable ({row.n_frozen} frozen): "
                     f"{row.naive_epoch_s:.2f} s vs {row.cached_epoch_s:.2f} s per epoch, {row.speedup:.1f}x; "
                     f"caching {row.cache_s:.1f} s; peak RSS naive {row.naive_peak_MB:.0f} MB, "
                     f"cached {row.cached_peak_MB:.0f} MB.")
    shallow = cached[cached["trainable_pct"] <= 15]
    if len(shallow):
        met = "met" if (shallow["speedup"] >= goal).all() else "not met everywhere"
        lines.append(f"The goal of at least {goal:g}x at 0-15 % trainable is {met}: speedups "
                     + ", ".join(f"{s:.1f}x" for s in shallow["speedup"]) + ".")
    return "\n".join(lines)
