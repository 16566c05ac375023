"""What several of P4's report tests build: IMAGENET, RANDOM, bench_rows, cells_frame, make_records."""

from __future__ import annotations

import pandas as pd

from mstl_lib.papers.p4_finetuning import protocol


RANDOM = {"used": "random", "requested": "auto",
          "description": "random initialisation (ImageNet weights unavailable: offline; random initialisation)"}


IMAGENET = {"used": "imagenet", "file": "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "sha256": "ab",
            "requested": "auto", "description": "ImageNet (resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5)"}


def make_records(values: dict, dataset: str = "busi", grouping: str = "none", epochs: int = 2,
                 still_improving: bool = False, svm_c: float = 1.0, degenerate: bool = False) -> pd.DataFrame:
    """Records like :func:`report.collect`'s: ``values[(backbone, pct)] = [(ft_auc, svm_auc) per fold]``.

    Every metric of a phase takes that phase's value; ``degenerate`` makes the FT head
    predict all 20 test images malignant with scores in [0.9, 0.95].
    """
    rows = []
    for (backbone, pct), folds in values.items():
        for fold, (ft, svm) in enumerate(folds):
            row = {"experiment": f"p4-{dataset}-{grouping}-cpu", "key": f"{dataset}{grouping}{backbone}{pct}{fold}",
                   "index": 0, "fold": fold, "status": "done", "backbone": backbone, "trainable_pct": pct,
                   "image_size": 75, "epochs": epochs, "batch_size": 16, "learning_rate": 1e-4,
                   "svm_c": svm_c, "wall_time_s": 1.0, "dataset": dataset, "protocol": grouping,
                   "epochs_run": epochs, "still_improving": still_improving}
            for phase, value in (("ft", ft), ("svm", svm)):
                for metric in protocol.PHASE_METRICS:
                    row[f"{phase}_{metric}"] = value
                collapsed = degenerate and phase == "ft"
                row.update({f"{phase}_balanced_accuracy": 0.5 if collapsed else value,
                            f"{phase}_pred_benign": 0 if collapsed else 10,
                            f"{phase}_pred_malignant": 20 if collapsed else 10,
                            f"{phase}_score_min": 0.9 if collapsed else 0.05,
                            f"{phase}_score_max": 0.95 if collapsed else 0.95,
                            f"{phase}_degenerate": float(collapsed)})
            rows.append(row)
    return pd.DataFrame(rows)


def cells_frame(ft_svm_by_fold, pcts=(0, 15, 50)):
    return {("ResNet50", p): ft_svm_by_fold(p) for p in pcts}


def bench_rows(speedups):
    return [{"backbone": "ResNet50", "trainable_pct": pct, "n_frozen": protocol.frozen_layers("ResNet50", pct),
             "naive_epoch_s": 2.0, "cached_epoch_s": 2.0 / s, "speedup": s, "cache_s": 1.0,
             "naive_peak_MB": 900.0, "cached_peak_MB": 800.0} for pct, s in speedups]
