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
# # A first grid: conventional transfer learning on BUSI
#
# This chapter runs a small experiment grid through the library's experiment engine
# ({doc}`../../book/running_grids`), the way every later chapter trains. The grid is
# the conventional-transfer (CTL) arm of P1 {cite:p}`ayana2022mstl` for one backbone:
# ResNet50 with P1's stage-2 head (three dense layers, one with dropout, a sigmoid
# output), fine-tuned on BUSI benign vs malignant with each of P1's three optimizers.
# Every (configuration, fold) is one task; its record (metrics, per-sample
# predictions, learning curves, provenance) is stored in `results/`, so rebuilding the
# book retrains nothing and a killed run resumes where it stopped.

# %% tags=["parameters"]
profile = "cpu"
data_dir = "auto"
weights = "auto"
seed = 0
executor = "local"
scheduler = None
verbose = 0

# %%
from mstl_lib import engine, report
from mstl_lib.context import start_run
from mstl_lib.profiles import settings_table
from mstl_lib.engine.provenance import fingerprint_table

run = start_run("first_grid", profile=profile, data_dir=data_dir, weights=weights, seed=seed)
settings = run.settings
busi = run.load("busi")
run.resolve_weights(settings["backbones"])
run.banner()

# %% [markdown]
# ## The protocol and how this profile scales it
#
# P1 trains each stage for 50 epochs, batch 16, learning rate 10⁻³ decaying
# exponentially (rate 0.96, which we apply per epoch), on 75 × 75 inputs, with the
# training images augmented threefold (vertical flip, rotation) and a 6:2:2
# train / validation / test split inside a nested 5-fold cross-validation. The `cpu`
# profile keeps all of that except the epochs (2 instead of 50) and runs 2 of the 5
# outer folds, so the chapter costs minutes rather than hours on 2 CPU cores. The
# `full` profile runs the paper's numbers.

# %%
settings_table("first_grid")

# %%
configs = [
    {"backbone": backbone, "optimizer": optimizer, "image_size": settings["image_size"],
     "epochs": settings["epochs"], "batch_size": settings["batch_size"], "learning_rate": 1e-3,
     "decay_rate": 0.96, "augment_copies": settings["augment_copies"]}
    for backbone in settings["backbones"] for optimizer in settings["optimizers"]
]
grid = engine.Grid(
    name=f"first_grid-{run.profile.name}",
    configs=configs,
    folds=list(range(settings["folds_run"])),
    task="mstl_lib.protocols:transfer_classification",
    data_fingerprint=fingerprint_table(busi, label_column="label"),
    context={"dataset": "busi", "data_dir": run.datasets["busi"].data_dir,
             "grouping": "image", "n_splits": settings["n_splits"], "max_images": settings["max_images"],
             "seed": seed, "weights": weights, "profile": run.profile.name, "verbose": verbose},
)
store = engine.ResultsStore()
result = engine.run_grid(grid, store, executor=executor, scheduler=scheduler, verbose=verbose)
print(result.summary())

# %% [markdown]
# ## Failures
#
# A task that fails (a NaN loss, out of memory, an unreadable image) is recorded with
# its traceback and the grid goes on. In the `smoke` profile any failure stops the
# build, so `make test` catches it.

# %%
failures = engine.failures_frame(store, grid)
if run.profile.name == "smoke":
    engine.raise_on_failures(result)
failures if len(failures) else report.markdown("No task failed.")

# %% [markdown]
# ## Results per task and per configuration
#
# Built from the stored records, not from variables of this notebook. SD is the
# sample standard deviation across folds (ddof = 1). These networks start from
# random weights wherever ImageNet weights could not be had (see the banner), and the
# `cpu` profile trains them for 2 epochs instead of 50: expect numbers near chance,
# far below P1's, which come from ImageNet-initialised networks trained for 50 epochs.

# %%
records = engine.records_frame(store, grid)
records[["backbone", "optimizer", "fold", "status", "accuracy", "auc", "f1", "sensitivity",
         "specificity", "loss", "wall_time_s"]]

# %%
report.aggregate(records, by=["backbone", "optimizer"],
                      metrics=["accuracy", "auc", "f1", "sensitivity", "specificity"])

# %% [markdown]
# ## Learning curves and ROC curves

# %%
report.learning_curves(engine.history_frame(store, grid),
                       by="optimizer", metrics=("loss", "val_loss"))

# %%
report.roc_curves(engine.predictions_frame(store, grid), by="optimizer")
