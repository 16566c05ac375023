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
# P4 {cite:p}`balghaoui2023finetuning` asks how many of a pretrained network's last layers to
# fine-tune, and whether a linear SVM on the fine-tuned features beats the network's own
# MLP head. It fine-tunes five ImageNet {cite:p}`russakovsky2015imagenet` backbones with seven strategies (0, 15, 25, 50,
# 75, 85 and 100 % of the layers trainable) on four ultrasound datasets, then replaces
# the head by a linear SVM. Two of its datasets, BUSI {cite:p}`aldhabyani2020busi` and DDTI
# {cite:p}`pedraza2015ddti`, are here as real data;
# Mendeley runs when a user supplies it (`full` profile). This chapter reproduces the
# study on them, with two additions P4 does not make: folds that keep a DDTI case (and
# BUSI near-duplicates) on one side, and an engine that computes the frozen part of the
# network once instead of every epoch.

# %% tags=["parameters"]
profile: str = "cpu"  # smoke (seconds, for tests), cpu (real data, scaled down) or full (the paper's protocol)
data_dir: str = "auto"  # folder holding busi/, ddti/...; "auto": MSTL_DATA_DIR, ../shared/data, ~/mstl_data
weights: str = "auto"  # "auto" (ImageNet where available), "imagenet", "none" (random) or a weights file
seed: int = 0  # seed of splits, initialisation and augmentation
executor: str = "auto"  # where tasks run: auto (the profile's), local, processes, reused, isolated or dask
scheduler: str = None  # a Dask scheduler address when executor is dask; None starts a local cluster
verbose: int = 0  # Keras fit verbosity of each task: 0 silent, 1 a progress bar, 2 a line per epoch

# %%
from mstl_lib import engine
from mstl_lib.context import start_run
from mstl_lib.papers.p4_finetuning import grids as p4_grids
from mstl_lib.papers.p4_finetuning import report as p4_report
from mstl_lib.papers.p4_finetuning.settings import CHAPTER
from mstl_lib.report import markdown

run = start_run(CHAPTER, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
grids = p4_grids.build(run, verbose=verbose)  # decides the data of every dataset and resolves the weights

# %%
run.banner()

# %% [markdown]
# ## The method as P4 states it, and what this page does with it
#
# | | P4 | here |
# |---|---|---|
# | backbones | VGG16, VGG19, ResNet50, ResNet101, InceptionV3, ImageNet weights, `include_top=False` | the profile's list (`full`: all five) with the weights the banner states |
# | strategies | 0–100 % trainable; frozen counts of Table 2 | the same counts, read from P4's Table 2 and checked against the built models |
# | head | GlobalMaxPooling, Dense 512 ReLU, Dropout 0.5, Dense 2 softmax | the same (`heads.p4_head`) |
# | loss | "binary cross-entropy" on a 2-node softmax | sparse categorical cross-entropy on the 2-node softmax: with one-hot targets and softmax outputs p and 1 − p, Keras's binary cross-entropy averages two identical terms and equals the categorical one, so this *is* P4's loss, written the way a 2-node softmax needs |
# | optimiser | Adam 10⁻⁴, 30 epochs, batch 4 | `full`: the same; `cpu`: 2 epochs, batch 16 (see the scaling note) |
# | input size | not given | 224 px in `full`; 75 px in `cpu` (InceptionV3's minimum) |
# | CV | 5-fold stratified, "best model of each fold saved" | 5-fold stratified; the best epoch is picked on a validation fifth of the *training* part (P4 does not say on what it picked; picking on the test fold would be optimistic) |
# | FT-SVM | linear SVM on the saved model's features, C ∈ {0.1, 1, 10, 100} by `GridSearchCV` with 5-fold stratified CV | the 512-d Dense-ReLU features of the kept model; standardised, `SVC(kernel="linear")`, C by `GridSearchCV` (accuracy) on the training part only; the test fold is scored once |
# | metrics | accuracy, precision, sensitivity, AUC, mean over folds | the same, threshold 0.5 on the softmax (FT) and 0 on the SVM's decision function |

# %%
CHAPTER.table()

# %% [markdown]
# **How the `cpu` profile scales the protocol.** P4's grid is 5 backbones × 7 strategies ×
# 5 folds × 30 epochs per dataset at an unstated input size. On 2 CPU cores a full-depth
# ResNet50 step at 75 px runs at about 40 images/s and tracing each new training graph
# costs about 30 s, so the deep strategies (75–100 % trainable) dominate. The `cpu` profile
# keeps every strategy, the real BUSI and DDTI images, P4's head, optimiser, learning rate
# and SVM phase, and scales four things: two backbones (ResNet50 and InceptionV3, P4's
# winners), 75 px inputs, 2 epochs at batch 16, and fold 0 of the 5-fold split (the
# engine resumes, so raising `folds_run` reuses fold 0). The frozen-prefix cache is what
# keeps the 0–25 % strategies cheap; the timing section below measures it. The `full`
# profile runs P4's numbers.

# %% [markdown]
# ## Data: P4's Table 1 beside the loaders' counts
#
# BUSI: benign vs malignant, the normal class left out, as P4. DDTI: the loader labels a
# nodule by its TIRADS score (2–3 benign, 4a–5 malignant) and leaves out the images
# without one (counts below). P4 reports 49 benign / 399 malignant (448 images) and does
# not say how it labelled DDTI. Whether a TIRADS threshold of this copy reproduces P4's
# counts, and how the two versions' class balance differ, is stated below the TIRADS
# table: a more skewed dataset gives accuracies a higher floor (the all-malignant
# classifier's accuracy is the malignant share).

# %%
p4_report.table1(p4_grids.train_tables(run))

# %%
markdown(p4_report.audit_note("Table 1", data_dir))

# %%
tirads = p4_report.tirads_table(run.source("ddti", "train"))
tirads

# %%
markdown(p4_report.ddti_note(tirads))

# %% [markdown]
# ## Table 2: frozen layers per strategy
#
# Keras's layer counts with `include_top=False` (input layer included) are compared with
# P4's totals, and the engine freezes exactly Table 2's number of leading layers; both
# are checked in code (`protocol.check_layer_count` in every task, `report.table2` here,
# which stops the page if a count differs) and in `tests/papers/p4_finetuning/`. Table 2
# is almost `total × (1 − trainable %)` rounded half up; the second table lists the
# cells where that rule differs from P4's (the table, not the rule, is what runs).

# %%
t2 = p4_report.table2(p4_report.keras_layer_counts())
p4_report.table2_wide(t2)

# %%
p4_report.rounding_misses(t2)

# %%
markdown(p4_report.audit_note("Table 2", data_dir))

# %% [markdown]
# ## Running the grids
#
# One grid per dataset with P4's image-level folds, and one per leakage-aware protocol
# (grouped folds, below) at the strategies the profile names. Every (configuration, fold)
# is a task of the experiment engine; its record is stored in `results/`, so a rebuild
# retrains nothing and a killed run resumes.
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
# **The operating point is chosen on validation images (`cpu` and `smoke`; not in P4).**
# After 2 epochs from random weights a network's output can shift as a whole between
# training and prediction. So, after settling, where the fine-tuned network's own argmax
# calls at least 95 % of the fold's validation images one class, its threshold moves to the
# one that maximises their balanced accuracy without collapsing them; elsewhere it stays
# (`mstl_lib.nn.calibration`). No test image is looked at and AUC does not change; the SVM head is not
# touched. Each record keeps what the network's own argmax called. `full` keeps P4's argmax.

# %%
store = engine.ResultsStore()
runs = p4_grids.run_all(run, store, executor=executor, scheduler=scheduler, verbose=verbose, grids=grids)
results = p4_report.collect(store, grids)

# %% [markdown]
# ## Failures

# %%
p4_report.failures_table(results)

# %% [markdown]
# ## Table 3: AUC per strategy, FT vs FT-SVM, beside P4's
#
# Ours: mean (and SD) over the folds run (`folds` column) with P4's image-level folds;
# `*_diff` is ours minus P4's; the last two columns give our pooled out-of-fold AUC with a 95 %
# bootstrap CI (DDTI resampled by case). P4's values are typed from its Table 3
# (`mstl_lib/paper_values/p4_table3.csv`).

# %%
markdown(p4_report.weights_caption(results.weights))

# %%
groups = p4_report.groups_by_path(p4_grids.train_tables(run))
t3 = p4_report.table3(results.image_level, ci=p4_report.auc_ci(results.predictions, groups=groups))
t3

# %%
markdown(p4_report.reading_table3(results.image_level, results.weights))

# %%
markdown(p4_report.audit_note("Table 3", data_dir))

# %% [markdown]
# The same table as a picture: AUC against the share of trainable layers.

# %% mystnb={"image": {"alt": "AUC against the share of trainable layers, one panel per dataset: our fine-tuned and SVM-head results as lines with markers, the paper's SVM-head results with crosses and dotted lines"}, "figure": {"caption": "AUC against fine-tuning depth, ours beside the paper's."}}
p4_report.auc_vs_depth(t3)

# %% [markdown]
# ## Table 4: the 15 % strategy
#
# Accuracy, precision and sensitivity (FT and FT-SVM, mean over folds) and the C the
# grid search chose (the most frequent over folds), beside P4's Table 4. The last two
# columns give each score pooled over the folds' test images, with a 95 % bootstrap CI
# (DDTI resampled by case).

# %%
markdown(p4_report.weights_caption(results.weights))

# %%
p4_report.table4(results.image_level, ci=p4_report.head_ci(
    results.predictions, groups=groups, metrics=p4_report.TABLE4_METRICS, strategy=15))

# %% [markdown]
# Where P4's Table 4 and the sensitivity gains its text reads from it do not add up
# (the audit's findings, from P4's own numbers):

# %%
markdown(p4_report.audit_note("Table 4", data_dir) + "\n\n" + p4_report.audit_note("sensitivity increase", data_dir))

# %% [markdown]
# With skewed classes a head that predicts nearly every image malignant scores the
# malignant share in accuracy; short training with BatchNorm layers can do exactly that.
# How many tasks collapsed this way, per head:

# %%
markdown(p4_report.degenerate_note(results.image_level))

# %% [markdown]
# ## Confusion matrices and ROC curves at 15 % (P4's Figs. 3–6)
#
# ResNet50 and InceptionV3, 15 % trainable, test predictions of the folds run (summed
# confusion matrices, pooled ROC curves). P4's figures are images in the paper and are
# not reproduced here; its Table 4 above carries their numbers.

# %%
markdown(p4_report.weights_caption(results.weights))

# %% mystnb={"image": {"alt": "Confusion matrices with counts in each cell and ROC curves, one row per dataset and backbone, at 15 % of layers trained"}, "figure": {"caption": "Confusion matrices and ROC curves on the test folds."}}
p4_report.confusion_figure(results.predictions)

# %% [markdown]
# ## Image-level vs grouped folds
#
# P4 splits images, not patients. DDTI has several images per case (`<case>_<k>`), so
# image-level folds put one nodule's images on both sides of a split; and BUSI, which
# has no patient identifiers, holds near-duplicate images. The grouped protocols run the
# same task with `StratifiedGroupKFold`: `case` keeps every DDTI case on one side,
# `duplicates` also merges near-duplicate clusters (perceptual hash, see the datasets
# chapter; in DDTI they join images filed under different case numbers). The inner
# validation split and the SVM's inner CV are grouped the same way. Same fold index,
# same seed, same task; only the grouping of the folds differs, so the test images
# differ too. If grouping lowers the AUC, the image-level number was inflated by
# near-identical images sitting on both sides of the split.

# %%
markdown(p4_report.weights_caption(results.weights))

# %%
comparison = p4_report.grouping_comparison(results.records, run.settings["grouping_strategies"])
comparison

# %%
p4_report.grouping_differences(comparison)

# %%
markdown(p4_report.grouping_paragraph(results.records))

# %% [markdown]
# ## What the frozen-prefix cache saves
#
# Per task: whether the frozen prefix was cached, its one-off cost, and the epoch times
# (the first epoch includes tracing the training graph). The benchmark
# `bench/freeze_cache.py` compares naive and cached training on the same model; its last
# measurement (if run on this machine) is summarised below.
#
# What to expect: the cache removes the frozen layers' forward pass from every step, and
# nothing else. At 0 % trainable the suffix is the head alone, so an epoch shrinks from a
# full forward pass of the backbone to a few dense layers. At 15 % the suffix of ResNet50
# is its whole last stage (three bottleneck blocks with 2048 channels), which carries
# roughly a fifth to a quarter of the network's forward FLOPs and all of the backward
# FLOPs of a 15 % fine-tune; no cache can remove those, so the speedup there is bounded
# by a small factor, whatever the implementation.

# %%
p4_report.timing_summary(p4_report.timing_frame(results.raw))

# %%
bench = p4_report.load_benchmark()
markdown(p4_report.benchmark_summary(bench))

# %% [markdown]
# ## Closing note
#
# The figures quoted here are those of the run this page shows; the tables above are
# their source. Each claim of P4 is stated with whether this run's folds can decide it.

# %%
markdown(p4_report.closing_note(results.records, results.weights, bench))
