# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A first grid: conventional transfer learning on breast ultrasound
#
# This chapter runs a small experiment grid through the library's experiment engine
# ({doc}`../../book/running_grids`), the way every later chapter trains. The grid is
# the conventional-transfer (CTL) arm of P1 {cite:p}`ayana2022mstl` for one backbone:
# ResNet50 with P1's stage-2 head (three dense layers, one with dropout, a sigmoid
# output), fine-tuned on ultrasound benign vs malignant with each of P1's three
# optimizers. Every (configuration, fold) is one task; its record (metrics, per-sample
# predictions, learning curves, provenance) is stored in `results/`, so rebuilding the
# book retrains nothing and a killed run resumes where it stopped.
#
# These tasks are exactly the CTL tasks of the next chapter's main grid: same
# experiment name, configuration, data and weights, hence the same keys in the results
# store. Whichever chapter runs first trains them; the other reads their records.

# %% tags=["parameters"]
profile: str = "cpu"  # smoke (seconds, for tests), cpu (real data, scaled down) or full (the paper's protocol)
data_dir: str = "auto"  # folder holding busi/, ddti/...; "auto": MSTL_DATA_DIR, ../shared/data, ~/mstl_data
weights: str = "auto"  # "auto" (ImageNet where available), "imagenet", "none" (random) or a weights file
seed: int = 0  # seed of splits, initialisation and augmentation
executor: str = "auto"  # where tasks run: auto (the profile's), local, processes, reused, isolated or dask
scheduler: str = None  # a Dask scheduler address when executor is dask; None starts a local cluster
verbose: int = 0  # Keras fit verbosity of each task: 0 silent, 1 a progress bar, 2 a line per epoch

# %%
from IPython.display import display

from mstl_lib import engine, report
from mstl_lib.context import start_run
from mstl_lib.papers.p1_mstl import grids
from mstl_lib.papers.p1_mstl import report as p1_report
from mstl_lib.papers.p1_mstl.settings import ENGINE_TOUR

run = start_run(ENGINE_TOUR, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
store = engine.ResultsStore()

# %% [markdown]
# ## The protocol and how this profile scales it
#
# P1 trains each stage for 50 epochs, batch 16, learning rate 10⁻³ decaying
# exponentially (rate 0.96, which we apply per epoch), on 75 × 75 inputs, with the
# training images augmented threefold (vertical flip, rotation) and a 6:2:2
# train / validation / test split inside a nested 5-fold cross-validation, on Mendeley's
# 100 + 100 images. The settings below are those of the next chapter's main grid (the
# `cpu` profile: a balanced 100 + 100 BUSI sample when Mendeley is not supplied, 3 epochs); this
# chapter runs the optimizers and outer folds listed. The last column says why a
# setting departs from the paper.

# %%
ENGINE_TOUR.table()

# %% [markdown]
# ## Running the grid
#
# The grid is declared as data (configurations × folds, the task, the data
# fingerprint and the run context with the resolved weights) and run by the engine,
# which reads finished tasks from the store and trains the rest. A task that fails (a
# NaN loss, out of memory, an unreadable image) is recorded with its traceback and the
# grid goes on; in the `smoke` profile any failure stops the build, so `make test`
# catches it.
#
# **BatchNorm is settled before every evaluation.** Keras keeps BatchNorm's moving
# statistics with momentum 0.99; over the few hundred steps of a short training they stay
# far from the statistics of the data that the final weights produce, so `predict` would
# compute another function than the one trained (on BUSI after 2 epochs, every model
# predicted one class). After training, and before any prediction or feature extraction,
# each trainable BatchNorm layer's statistics are recomputed on the un-augmented training
# images with the final weights (`mstl_lib.nn.batchnorm.settle_batchnorm`, "precise BN");
# no weight changes. Frozen layers keep pretrained statistics; with random weights there
# are none worth keeping, so they are recomputed once on the training images before
# training. Each record states what was settled.
#
# **The operating point is chosen on validation images (`cpu` and `smoke`; not in P1).**
# Settling fixes the statistics, but after a few epochs from random weights the network's
# output can still move as a whole between training (mini-batch statistics) and prediction
# (settled ones): a fold then ranks its test images well and calls every one of them the
# same class. So, after settling, where the network's own threshold calls at least 95 % of
# the fold's validation images one class, the output bias is moved once to the threshold
# that maximises their balanced accuracy without collapsing them; elsewhere the threshold
# stays, since moving one that already splits a few dozen images fits their noise
# (`mstl_lib.nn.calibration.set_operating_point`). No test image is looked at, and AUC
# does not change; accuracy, sensitivity and specificity do. Each record keeps what the
# network's own threshold of 0.5 would have called. `full` keeps P1's 0.5.

# %%
grid, result = grids.run_tour(run, store, executor=executor, scheduler=scheduler, verbose=verbose)
print(result.summary())

# %%
run.banner()

# %%
p1_report.failures(engine.failures_frame(store, grid))

# %% [markdown]
# ## Results per task and per configuration
#
# Built from the stored records, not from variables of this notebook. SD is the
# sample standard deviation across folds (ddof = 1; undefined with one fold).

# %%
records = engine.records_frame(store, grid)
p1_report.tour_table(records)

# %%
report.aggregate(records, by=["backbone", "optimizer"], metrics=["accuracy", "auc", "f1", "sensitivity",
                                                                 "specificity"])

# %% [markdown]
# What these numbers say, and which weights the tasks started from (as their records
# state):

# %%
display(report.markdown(p1_report.tour_note(engine.load_records(store, grid))),
        p1_report.weights_table(engine.load_records(store, grid)))

# %% [markdown]
# ## Learning curves and ROC curves

# %% mystnb={"image": {"alt": "Training and validation loss against epoch, one panel per optimizer, one line per fold and metric (folds by colour and marker, metrics solid or dashed)"}, "figure": {"caption": "Learning curves of the grid, per optimizer and fold."}}
report.learning_curves(engine.history_frame(store, grid), by="optimizer", metrics=("loss", "val_loss"))

# %% mystnb={"image": {"alt": "ROC curves, one panel per optimizer, one line per outer fold with its AUC in the legend, and the chance diagonal"}, "figure": {"caption": "ROC curves per optimizer and fold on the test folds."}}
report.roc_curves(engine.predictions_frame(store, grid), by="optimizer")
