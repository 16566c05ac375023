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
# # Fine-tuning depth and the SVM head (P4)
#
# P4 (Bal-Ghaoui et al. 2023) asks how many of a pretrained network's last layers to
# fine-tune, and whether a linear SVM on the fine-tuned features beats the network's own
# MLP head. It fine-tunes five ImageNet backbones with seven strategies (0, 15, 25, 50,
# 75, 85 and 100 % of the layers trainable) on four ultrasound datasets, then replaces
# the head by a linear SVM. Two of its datasets, BUSI and DDTI, are here as real data;
# Mendeley runs when a user supplies it (`full` profile). This chapter reproduces the
# study on them, with two additions P4 does not make: folds that keep a DDTI case (and
# BUSI near-duplicates) on one side, and an engine that computes the frozen part of the
# network once instead of every epoch.

# %% tags=["parameters"]
profile = "cpu"
data_dir = "auto"
weights = "auto"
seed = 0
executor = "local"
scheduler = None
verbose = 0

# %%
import pandas as pd

from mstl_lib import engine, finetuning, paper_values, report

from mstl_lib.nn import backbones

from mstl_lib.context import start_run
from mstl_lib.profiles import settings_table

run = start_run("finetuning", profile=profile, data_dir=data_dir, weights=weights, seed=seed)
settings = run.settings
finetuning.require_real_weights(run.profile.name, weights, settings["backbones"])  # full: no silent fallback
tables = {name: run.try_load(name) for name in settings["datasets"]}
tables = {name: table for name, table in tables.items() if table is not None}

# %% [markdown]
# ## The method as P4 states it, and what this page does with it
#
# | | P4 | here |
# |---|---|---|
# | backbones | VGG16, VGG19, ResNet50, ResNet101, InceptionV3, ImageNet weights, `include_top=False` | the profile's list (`full`: all five) with `weights` as resolved below |
# | strategies | 0–100 % trainable; frozen counts of Table 2 | the same counts, read from P4's Table 2 and asserted against the built models |
# | head | GlobalMaxPooling, Dense 512 ReLU, Dropout 0.5, Dense 2 softmax | the same (`heads.p4_head`) |
# | loss | "binary cross-entropy" on a 2-node softmax | sparse categorical cross-entropy on the 2-node softmax: with one-hot targets and softmax outputs p and 1 − p, Keras's binary cross-entropy averages two identical terms and equals the categorical one, so this *is* P4's loss, written the way a 2-node softmax needs |
# | optimiser | Adam 10⁻⁴, 30 epochs, batch 4 | `full`: the same; `cpu`: 2 epochs, batch 16 (see the scaling note) |
# | input size | not given | 224 px in `full`; 75 px in `cpu` (InceptionV3's minimum) |
# | CV | 5-fold stratified, "best model of each fold saved" | 5-fold stratified; the best epoch is picked on a validation fifth of the *training* part (P4 does not say on what it picked; picking on the test fold would be optimistic) |
# | FT-SVM | linear SVM on the saved model's features, C ∈ {0.1, 1, 10, 100} by `GridSearchCV` with 5-fold stratified CV | the 512-d Dense-ReLU features of the kept model; standardised, `SVC(kernel="linear")`, C by `GridSearchCV` (accuracy) on the training part only; the test fold is scored once |
# | metrics | accuracy, precision, sensitivity, AUC, mean over folds | the same, threshold 0.5 on the softmax (FT) and 0 on the SVM's decision function |

# %%
settings_table("finetuning")

# %% [markdown]
# **How the `cpu` profile scales the protocol.** P4's grid is 5 backbones × 7 strategies ×
# 5 folds × 30 epochs per dataset at an unstated input size. On 2 CPU cores a full-depth
# ResNet50 step at 75 px runs at about 40 images/s and tracing each new training graph
# costs about 30 s, so the deep strategies (75–100 % trainable) dominate. The `cpu` profile
# keeps every strategy, the real BUSI and DDTI images, P4's head, optimiser, learning rate
# and SVM phase, and scales four things: two backbones (ResNet50 and InceptionV3, P4's
# winners), 75 px inputs, 2 epochs at batch 16, and fold 0 of the 5-fold split (the
# engine resumes, so raising `folds_run` reuses fold 0). The frozen-prefix cache makes the
# 0–25 % strategies cost seconds; without it those would cost as much as the deep ones.
# With one fold there is no spread to report: differences of a few AUC points between
# strategies are within fold-to-fold noise. The `full` profile runs P4's numbers.

# %% [markdown]
# ## Data: P4's Table 1 beside the loaders' counts
#
# BUSI: benign vs malignant, the normal class left out, as P4. DDTI: the foundation's
# loader labels a nodule by its TIRADS score (2–3 benign, 4a–5 malignant) and leaves out
# the images without one (counts below). P4 reports 49 benign / 399 malignant (448 images)
# and does not say how it labelled DDTI. No TIRADS threshold on this release reproduces
# 49 / 399 (the TIRADS table below: even TIRADS 2 alone has more than 49 images), so P4
# most likely used one of the re-distributed, re-cut versions of DDTI that circulate with
# other image counts. What matters for reading the tables: P4's DDTI is more skewed
# (about 89 % malignant) than ours (about 78 %), so its accuracies have a higher floor
# (the all-malignant classifier's accuracy is the malignant share).

# %%
paper_t1 = paper_values.load("p4_table1")
ours_t1 = pd.DataFrame([{"dataset": finetuning.PAPER_DATASET[name], "ours_benign": int((t["target"] == 0).sum()),
                         "ours_malignant": int((t["target"] == 1).sum())} for name, t in tables.items()])
ours_t1.merge(paper_t1, on="dataset", how="left").set_index("dataset")

# %%
from mstl_lib import data  # noqa: E402

if "ddti" in tables and "tirads" in tables["ddti"].columns:
    ddti_all = data.load_dataset("ddti", run.datasets["ddti"].data_dir, include_unlabelled=True)
    tirads = ddti_all.assign(tirads=ddti_all["tirads"].fillna("none"))
    display(tirads.groupby("tirads").agg(images=("path", "size"), cases=("group", "nunique"),  # noqa: F821
                                          label=("label", "first")).T)

# %% [markdown]
# ## Table 2: frozen layers per strategy
#
# Keras's layer counts with `include_top=False` (input layer included) equal P4's totals,
# and the engine freezes exactly Table 2's number of leading layers; both are asserted
# in code (`finetuning.check_layer_count`, `finetuning.frozen_layers`) and in
# `tests/test_finetuning.py`. Table 2 is almost `total × (1 − trainable %)` rounded half
# up; the last column shows that rule, which misses two VGG19 cells by one layer
# (the table, not the rule, is what runs).

# %%
built_counts = {}
for name in ["VGG16", "VGG19", "ResNet50", "ResNet101", "InceptionV3"]:
    backbone, _ = backbones.build_backbone(name, (75, 75, 3), weights=None)
    built_counts[name] = finetuning.check_layer_count(backbone, name)
t2 = finetuning.table2().copy()
t2["keras_total"] = t2["backbone"].map(built_counts)
t2["engine_frozen"] = [finetuning.frozen_layers(b, p) for b, p in zip(t2["backbone"], t2["trainable_pct"])]
t2["rounding_rule"] = [finetuning.rounded_frozen_layers(n, p) for n, p in zip(t2["total_layers"], t2["trainable_pct"])]
assert (t2["engine_frozen"] == t2["frozen_layers"]).all() and (t2["keras_total"] == t2["total_layers"]).all()
t2.pivot(index="trainable_pct", columns="backbone", values="frozen_layers")[list(built_counts)]

# %%
t2[t2["rounding_rule"] != t2["frozen_layers"]]

# %% [markdown]
# ## Running the grids
#
# One grid per dataset with P4's image-level folds, and one per leakage-aware protocol
# (grouped folds, below) at the strategies the profile names. Every (configuration, fold)
# is a task of the experiment engine; its record is stored in `results/`, so a rebuild
# retrains nothing and a killed run resumes.

# %%
store = engine.ResultsStore()
grids = {}
for name, table in tables.items():
    grids[(name, "none")] = finetuning.p4_grid(
        name, "none", table, run.datasets[name].data_dir, settings, settings["backbones"], settings["strategies"],
        run.profile.name, seed, weights, verbose)
for protocol in settings["grouped_protocols"]:
    name, grouping = protocol.split(":")
    if name in tables:
        grids[(name, grouping)] = finetuning.p4_grid(
            name, grouping, tables[name], run.datasets[name].data_dir, settings, settings["grouping_backbones"],
            settings["grouping_strategies"], run.profile.name, seed, weights, verbose)
results = {}
for key, grid in grids.items():
    results[key] = engine.run_grid(grid, store, executor=executor, scheduler=scheduler, verbose=verbose)
    print(key, results[key].summary())
all_records = {key: engine.load_records(store, grid) for key, grid in grids.items()}
weights_used = [r.get("weights_used") for recs in all_records.values() for r in recs]
for recs in all_records.values():
    for record in recs:
        run.record_weights(record["config"]["backbone"], str(record["weights_used"]))

# %%
run.banner()

# %%
report.markdown(finetuning.weights_caption(weights_used))

# %% [markdown]
# ## Failures

# %%
failures = pd.concat([engine.failures_frame(store, grid) for grid in grids.values()], ignore_index=True)
if run.profile.name == "smoke":
    for result in results.values():
        engine.raise_on_failures(result)
failures if len(failures) else report.markdown("No task failed.")

# %% [markdown]
# ## Table 3: AUC per strategy, FT vs FT-SVM, beside P4's
#
# Ours: mean over the folds run (`folds` column) with P4's image-level folds. P4's
# values are typed from its Table 3 (`mstl_lib/paper_values/p4_table3.csv`).

# %%
records = finetuning.combined_records(
    {key: engine.records_frame(store, grid) for key, grid in grids.items()})
image_level = records[records["protocol"] == "none"]
report.markdown(finetuning.weights_caption(weights_used))

# %%
t3 = finetuning.table3(image_level, paper_values.load("p4_table3"))
t3

# %% [markdown]
# **Reading Table 3.** Three things separate these numbers from P4's before any
# comparison: the weights (random here, ImageNet in P4: without pretrained features the
# frozen prefix is a random projection, so "fine-tuning depth" becomes "how much of the
# network is trained at all"); the budget (2 epochs in `cpu`, under which the MLP head is
# far from converged, while the SVM is fitted to convergence on the same features, so the
# FT-SVM advantage partly measures convergence rather than the classifier); and one fold
# (no spread; a few AUC points between neighbouring strategies are noise). The `full`
# profile with ImageNet weights removes all three.
#
# The same table as a picture: AUC against the share of trainable layers.

# %%
import matplotlib.pyplot as plt  # noqa: E402

t3_long = t3.reset_index()
fig, axes = plt.subplots(1, len(tables), figsize=(5 * len(tables), 3.4), squeeze=False)
for ax, (dataset, part) in zip(axes[0], t3_long.groupby("dataset")):
    for backbone, rows in part.groupby("backbone"):
        line = ax.plot(rows["trainable_pct"], rows["ft_auc"], "o-", label=f"{backbone} FT")[0]
        ax.plot(rows["trainable_pct"], rows["svm_auc"], "s--", color=line.get_color(), label=f"{backbone} FT-SVM")
        ax.plot(rows["trainable_pct"], rows["paper_svm_auc"], "x:", color=line.get_color(), alpha=0.6,
                label=f"{backbone} FT-SVM (P4)")
    ax.set_title(dataset)
    ax.set_xlabel("trainable layers (%)")
    ax.set_ylabel("AUC")
    ax.set_ylim(0.3, 1.02)
axes[0][-1].legend(fontsize=7, loc="lower right")
fig.tight_layout()
fig

# %% [markdown]
# ## Table 4: the 15 % strategy
#
# Accuracy, precision and sensitivity (FT and FT-SVM, mean over folds) and the C the
# grid search chose (the most frequent over folds), beside P4's Table 4.

# %%
report.markdown(finetuning.weights_caption(weights_used))

# %%
finetuning.table4(image_level, paper_values.load("p4_table4"))

# %% [markdown]
# ## Confusion matrices and ROC curves at 15 % (P4's Figs. 3–6)
#
# ResNet50 and InceptionV3, 15 % trainable, test predictions of the folds run (summed
# confusion matrices, pooled ROC curves). P4's figures are images in the paper and are
# not reproduced here; its Table 4 above carries their numbers.

# %%
report.markdown(finetuning.weights_caption(weights_used))

# %%
figures = []
for name in tables:
    predictions = engine.predictions_frame(store, grids[(name, "none")])
    at15 = predictions[(predictions["trainable_pct"] == 15)
                       & predictions["backbone"].isin(["ResNet50", "InceptionV3"])] if len(predictions) else predictions
    if len(at15):
        figures.append(finetuning.confusion_and_roc(at15, f"{finetuning.PAPER_DATASET[name]}: 15 % trainable"))
for figure in figures:
    display(figure)  # noqa: F821 - IPython

# %% [markdown]
# ## Image-level vs grouped folds
#
# P4 splits images, not patients. DDTI has several images per case (`<case>_<k>`), so
# image-level folds put one nodule's images on both sides of a split; and BUSI, which
# has no patient identifiers, holds near-duplicate images. The grouped protocols run the
# same task with `StratifiedGroupKFold`: `case` keeps every DDTI case on one side,
# `duplicates` also merges near-duplicate clusters (perceptual hash, see the datasets
# chapter; in DDTI they join images filed under different case numbers). The inner
# validation split and the SVM's inner CV are grouped the same way.

# %%
report.markdown(finetuning.weights_caption(weights_used))

# %% [markdown]
# Same fold index, same seed, same task; only the grouping of the folds differs, so the
# test images differ too. Where grouping lowers the AUC, the image-level number was
# inflated by near-identical images of one nodule (or one duplicate cluster) sitting on
# both sides of the split: the SVM, which fits the training features closely, profits most.

# %%
comparison = finetuning.grouping_comparison(records, settings["grouping_strategies"])
comparison

# %%
if len(comparison):
    wide = comparison["svm_auc"].unstack("protocol")
    for protocol in [c for c in wide.columns if c != "none"]:
        wide[f"svm_auc_{protocol}_minus_none"] = (wide[protocol] - wide["none"]).round(3)
    display(wide)  # noqa: F821

# %% [markdown]
# ## What the frozen-prefix cache saves
#
# Per task: whether the frozen prefix was cached, its one-off cost, and the epoch times
# (the first epoch includes tracing the training graph). The benchmark
# `bench/freeze_cache.py` compares naive and cached training on the same model; its last
# measurement (if run on this machine) is shown below.
#
# What to expect: the cache removes the frozen layers' forward pass from every step, and
# nothing else. At 0 % trainable the suffix is the head alone, so an epoch shrinks from a
# full forward pass of the backbone to a few dense layers. At 15 % the suffix of ResNet50
# is its whole last stage (three bottleneck blocks with 2048 channels), which carries
# roughly a fifth to a quarter of the network's forward FLOPs and all of the backward
# FLOPs of a 15 % fine-tune; no cache can remove those, so the speedup there is bounded
# by a small factor, whatever the implementation.

# %%
timings = pd.concat([finetuning.timing_frame(recs).assign(dataset=key[0], protocol=key[1])
                     for key, recs in all_records.items()], ignore_index=True)
(timings.groupby(["dataset", "backbone", "trainable_pct"])
 [["n_frozen", "cached", "cache_s", "cache_MB", "first_epoch_s", "later_epoch_s", "svm_s", "task_s"]]
 .mean(numeric_only=False).round(2) if len(timings) else timings)

# %%
bench = finetuning.load_benchmark()
bench if bench is not None else report.markdown("`bench/freeze_cache.py` has not been run on this machine.")

# %% [markdown]
# ## Closing note
#
# The figures quoted here are those of the run this page shows; the tables above are
# their source.

# %%
report.markdown(finetuning.closing_note(t3, comparison, bench, weights_used))
