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
# # B-mode + strain ensemble, judged patient-wise (P3)
#
# P3 {cite:p}`misra2021ensemble` stacks a grey B-mode breast ultrasound image with its colour
# strain-elastography image into 4 channels, fine-tunes ImageNet AlexNet {cite:p}`krizhevsky2014alexnet`
# and ResNet-18 {cite:p}`he2016resnet` on
# them, and trains a new softmax layer on their concatenated penultimate features (4,096 +
# 512 = 4,608). It reports 88.89 % sensitivity and 91.10 % specificity patient-wise, a
# patient being called malignant unless most of its images are called benign (eq. 1).
#
# P3's images are private. This chapter runs its pipeline on two honest substitutes:
# real BUSI {cite:p}`aldhabyani2020busi` B-mode images with **simulated** strain images (pseudo-patients are
# near-duplicate clusters), and real DDTI thyroid B-mode images, where a case is a
# patient, for the B-mode arms and the patient-wise metrics.

# %% tags=["parameters"]
profile: str = "cpu"  # smoke (seconds, for tests), cpu (real data, scaled down) or full (the paper's protocol)
data_dir: str = "auto"  # folder holding busi/, ddti/...; "auto": MSTL_DATA_DIR, ../shared/data, ~/mstl_data
weights: str = "auto"  # "auto" (ImageNet where available), "imagenet", "none" (random) or a weights file
seed: int = 0  # seed of splits, initialisation and augmentation
executor: str = "auto"  # where tasks run: auto (the profile's), local, processes, reused, isolated or dask
scheduler: str = None  # a Dask scheduler address when executor is dask; None starts a local cluster
verbose: int = 0  # Keras fit verbosity of each task: 0 silent, 1 a progress bar, 2 a line per epoch

# %%
import time

from mstl_lib import engine
from mstl_lib.context import start_run
from mstl_lib.papers.p3_elastography import grids as p3_grids
from mstl_lib.papers.p3_elastography import report as p3_report
from mstl_lib.papers.p3_elastography.settings import CHAPTER
from mstl_lib.report import markdown, table_or_note

run = start_run(CHAPTER, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
grids = p3_grids.build(run, verbose=verbose)  # decides the data of every dataset and resolves the weights

# %%
run.banner()

# %%
markdown(p3_report.SIMULATION_BANNER)

# %% [markdown]
# ## The method as P3 states it, and what this page does with it
#
# | | P3 | here |
# |---|---|---|
# | data | 85 patients (42 benign, 43 malignant), 261 B-mode + 261 strain images, biopsy-proven; private | BUSI B-mode + lesion masks with simulated strain; pseudo-patients = near-duplicate clusters, label-mixed clusters dropped. DDTI (real, case = patient) for the B-mode arms |
# | input | B (grey), SE (RGB), B-SE stacked to 4 channels, 224 px | the same stacking, grey first; the size of the settings table |
# | crop | by hand, on a radiologist's advice | by rule: the mask's bounding box plus 5 % of the side (`protocol.crop_box`) |
# | 4 channels into an ImageNet stem | not stated | grey first; the grey channel's stem filter is the mean of the pretrained RGB filters (`mstl_lib.nn.stem`); the 1-channel B input is repeated to RGB |
# | AlexNet | last three layers trained | its three FC layers trained, the convolutions frozen |
# | ResNet-18 | first four layers frozen | `full`: torchvision's first four child modules (conv1, bn1, relu, maxpool) frozen; `cpu`/`smoke`: every convolution frozen (settings, `resnet_freeze`) |
# | training | cross-entropy, Adam 10⁻⁴, early stop after 200 epochs without a better validation loss, best weights restored | the same, with the patience and epoch cap of the settings; frozen parts run once per image (freeze cache), so no online augmentation |
# | ensemble | frozen constituents, penultimate features concatenated, new softmax layer | the same (4,096 + 512 with AlexNet and ResNet-18); also the two-voter majority vote, a tie (the two disagree) going to malignant |
# | split | 65 training / 20 test patients, 5-fold CV over the training patients, every fold's model on the same test patients | `p3` grids: a fixed stratified quarter of the patients as test, 5-fold grouped CV over the rest; `nested` grids: patient-grouped outer folds, every patient tested once, a grouped validation part inside each |
# | patient-wise | eq. 1 majority vote, tie → malignant; eq. 2 global patient recognition rate | `evaluation.patients` (`majority_vote(tie="malignant")`, `patient_recognition_rate`) |
#
# **Backbones.** AlexNet and ResNet-18 are Keras builds of torchvision's layouts
# (`mstl_lib.nn.torchvision_models`); ImageNet weights converted from torchvision's
# checkpoints load with `weights=<file>`, and cannot be had here, so the banner states the
# weights used. Each record names the backbone that ran each constituent (a registry without
# them falls back to VGG16 for AlexNet and ResNet50 for ResNet-18, and says so).

# %%
CHAPTER.table()

# %% [markdown]
# ## P3's own numbers and arithmetic
#
# P3's stated counts beside what its own tables imply. Its supplementary tables list one
# benign patient more than its text counts.

# %%
p3_report.paper_counts_check()

# %% [markdown]
# **Which test set and spread convention do Table 1's numbers allow?** P3 says every fold's
# model is tested on the same 20 test patients (56 test images image-wise), with a ± over
# the 5 models. A patient-wise accuracy of one model is then k / 20, and a mean over 5
# models a multiple of 1/100. For each test-set size, the table counts how many of Table 1's
# patient-wise accuracy cells are attainable as a mean of 5 such proportions (rounded as
# printed) and how many of their ± fit each spread convention (`audit.test_size_search`).

# %%
from mstl_lib.papers.p3_elastography import audit as p3_audit

sizes = p3_audit.test_size_search("patient")
sizes[sizes["mean attainable"] > 0]

# %%
markdown(p3_report.test_size_sentence(sizes))

# %%
markdown(p3_report.audit_note("Supplementary"))

# %% [markdown]
# ## The simulated strain
#
# Each BUSI image gets a strain image from a seeded generator
# (`mstl_lib.data.phantoms.strain`, version `strain-2`). An ROI box is the lesion mask's
# bounding box plus 5 % of the image side, the same box as the lesion crop. Inside it the
# elastogram is simulated on a fixed grid in box units: a stiff ellipse centred in the box
# (semi-axes 60 % of its half sides), axial strain under uniform compression
# (strain ∝ 1 / stiffness), estimator noise then blur, and a jet-like display relative to
# the background strain (hard = blue, background mid-scale, soft = red); outside the box,
# the grey B-mode. So the strain **crop** carries the drawn stiffness and nothing of the
# lesion's size, shape or place (these are in the B-mode channel); the full view still
# shows where and how large the ROI box is, as a scanner's display does.
# Every pseudo-patient draws one stiffness ratio from a log-normal fitted to P3's
# supplementary per-patient strain ratios of its class; the *class separation* scales the
# gap between the two classes' log-means (0: one class-independent distribution).
#
# The issue first asked for an ellipse with the lesion's centroid, area and orientation
# (generator `strain-1`). Its negative control failed: the SE-only models told benign from
# malignant with class-independent ratios: the ellipse's share of the crop, the ROI-mean
# colour reference and the noise scale all follow the lesion's size and shape. The probe below measures each change on its own: SE crops with
# class-independent ratios, a linear probe on their block colours, patient-grouped CV.

# %%
p3_report.ratio_fit_table(run.settings["separations"])

# %% mystnb={"image": {"alt": "For a few benign and malignant BUSI images: the B-mode image, its simulated strain image, and the B-mode and strain crops the networks take"}, "figure": {"caption": "B-mode images and the strain images simulated from their masks."}}
busi_table = p3_report.busi_patient_table(run, seed)  # None when BUSI is not available
p3_report.strain_examples(busi_table, seed)

# %%
from mstl_lib.papers.p3_elastography import leakage as p3_leakage

leak_probe = p3_leakage.leak_probe(busi_table, size=run.settings["image_size"], work_size=run.settings["work_size"],
                                   seed=seed, n_boot=run.settings["n_boot"])
markdown(p3_report.leak_probe_sentence(leak_probe))

# %%
table_or_note(leak_probe, "BUSI is not available: no probe.",
              ["generator", "n_images", "n_patients", "auc [95% CI]", "includes_chance"])

# %% [markdown]
# ## Running the grids
#
# Every (arm, fold) is a task of the experiment engine; its record is stored, so a rebuild
# retrains nothing and a killed run resumes. **BatchNorm is settled before every
# evaluation**: with random initial weights the frozen layers' statistics are recomputed on
# the training images before their outputs are cached, and trainable BatchNorm layers are
# recomputed after training (`mstl_lib.nn.batchnorm`); each record says what was settled.
# **The operating point is chosen on validation images (`cpu` and `smoke`; not in P3).**
# Short training from random weights can shift a network's output as a whole, so that it
# calls every image one class while ranking them well. So, after settling, where a
# constituent's, comparison model's or the ensemble layer's own argmax calls at least 95 % of
# the fold's validation patients' images one class, its threshold moves to the one that
# maximises their balanced accuracy without collapsing them; elsewhere it stays
# (`mstl_lib.nn.calibration`). No test image is looked at and AUC does not change; the voting ensemble votes
# with the moved thresholds. `full` keeps the argmax.

# %%
start = time.perf_counter()
store = engine.ResultsStore()
runs = p3_grids.run_all(run, store, executor=executor, scheduler=scheduler, verbose=verbose, grids=grids)
results = p3_report.collect(store, grids)
runtime = time.perf_counter() - start

# %%
p3_report.failures_table(results)

# %%
markdown(p3_report.degenerate_note(results.records))

# %% [markdown]
# ## Controls: oracle, negative control and dose-response (nested patient-grouped CV)
#
# Shown first, because they say what the simulated-strain numbers can mean. The **oracle**
# classifies each image from its patient's drawn ratio alone (the Bayes rule under the two
# drawn distributions): the ceiling of the injected signal. The **negative control** draws
# ratios class-independently (separation 0): the 95 % CI of its SE-only AUC must include
# 0.5, or the strain channel leaks something other than stiffness. The **dose-response**
# raises the separation. CIs come from a bootstrap over patients; every patient is tested
# once.

# %%
controls = p3_report.controls_table(results, n_boot=run.settings["n_boot"], seed=seed)
markdown(p3_report.negative_control_sentence(controls))

# %%
table_or_note(controls, "No control ran.", ["input", "separation", "model", "n_patients", "auc [95% CI]",
                                            "vote_accuracy [95% CI]", "recognition_rate [95% CI]"])

# %% mystnb={"image": {"alt": "Image AUC with its 95 % CI against the class separation of the drawn strain ratios, one panel per input, with the chance line at 0.5"}, "figure": {"caption": "How the ensemble's AUC grows with the strain signal it is given."}}
p3_report.dose_response_figure(controls)

# %% [markdown]
# ## Burned-in annotations: full B-mode images, unmasked and masked (nested CV)
#
# BUSI's images carry scanner marks: text, colour markers, calipers and measurement boxes,
# and a frame. A rule (`mstl_lib.data.annotations.annotation_mask`, no learning), applied
# at each image's own resolution, masks coloured pixels (chroma, max minus min of R, G, B,
# above 0.06: yellow boxes, coloured markers), near-white pixels (at least 0.95) in connected
# components of at most 0.05 % of the image (text, caliper crosses; large bright tissue
# stays), and a band of 3 % of each side, grown by one pixel; a working pixel that touches a
# masked one is set to 0. It is a rule, not a detector: the overlay below (vermillion) shows that it
# also takes some small near-white tissue specks and can miss dim text. Both arms use the
# full B-mode image in the nested patient-grouped CV.

# %% mystnb={"image": {"alt": "A few full ultrasound images with the annotation mask of the masking rule drawn over them"}, "figure": {"caption": "What the masking rule hides, on a few images."}}
p3_report.masking_example(busi_table)

# %%
masking = p3_report.masking_table(results, n_boot=run.settings["n_boot"], seed=seed)
markdown(p3_report.masking_sentence(masking))

# %%
table_or_note(masking, "The masking arms did not run.",
              ["masked", "model", "n_patients", "auc [95% CI]", "vote_accuracy [95% CI]"])

# %% [markdown]
# ## Table 1 under P3's protocol, beside P3's
#
# Mean ± SD (n − 1) over the folds run (with one fold, no SD), in %, patient-wise (eq. 1) and
# image-wise, with P3's cell beside each of ours. P3's values are typed from its Table 1
# (`mstl_lib/paper_values/p3_table1.csv`). Simulated strain: a gap to P3 says nothing about
# P3's data.

# %%
p3_report.table1_beside_paper(results.part("records", dataset="busi", protocol="p3"), "patient",
                              results.part("predictions", dataset="busi", protocol="p3"),
                              n_boot=run.settings["n_boot"], seed=seed)

# %%
markdown(p3_report.audit_note("Table 1"))

# %%
p3_report.table1_beside_paper(results.part("records", dataset="busi", protocol="p3"), "image",
                              results.part("predictions", dataset="busi", protocol="p3"),
                              n_boot=run.settings["n_boot"], seed=seed)

# %% [markdown]
# ## Table 4: patients the ensemble misdiagnoses in most folds
#
# P3 lists the test patients its ensemble misdiagnosed in 3 or more of its 5 folds (Table 4).
# The same count under P3's protocol here (B-SE crop; at least 60 % of the folds run), with
# each patient's drawn stiffness ratio: a benign patient with a high drawn ratio looks stiff,
# like P3's patient 284. P3's own rows are in `paper_values/p3_table4.csv`.

# %%
p3_report.misdiagnosis_counts(results)

# %% [markdown]
# ## Fig. 5: do the ensemble's PPVs beat its constituents'?
#
# P3 compares the "predictive probability values" (the softmax probability of an image's
# actual class) of the ensemble and each constituent with t-tests over images. Images of one
# patient are not independent, and both models score the same images, so beside P3's test
# (Welch's t-test over images) stands a paired t-test over patients (each patient's mean
# PPV per model), Holm-adjusted over the two comparisons. Nested BUSI arm with a strain
# channel at the fitted separation; simulated strain.

# %%
table_or_note(p3_report.fig5_tests(results), "No arm with a strain channel ran under the nested CV.")

# %% [markdown]
# ## Grad-CAM: where each extractor looks (P3's Figs. 6-7)
#
# For one benign and one malignant test image of a B-SE task: Grad-CAM of the ensemble's
# class score at each extractor's last convolution, and P3's combined map (each weighted sum
# resized to the smaller grid, added, then ReLU). Over the B-mode channel; the strain channel
# is simulated. With random initial weights (see the banner) the maps show the pipeline, not
# what an ImageNet-initialised network attends to.

# %% mystnb={"image": {"alt": "For a benign and a malignant test image: the B-mode channel, each feature extractor's Grad-CAM map and the combined map, on the inferno colour map"}, "figure": {"caption": "Where the network looks: Grad-CAM on test images."}}
p3_report.gradcam_figure(p3_report.gradcam_record(results))

# %% [markdown]
# ## Real patients: B-mode on DDTI (case = patient)
#
# The B-mode arm on the real DDTI thyroid images, nested CV grouped by case: eq. 1 (vote
# accuracy, tie → malignant) and eq. 2 (recognition rate) over real multi-image patients,
# with patient-cluster bootstrap CIs.

# %%
ddti = p3_report.ddti_table(results, n_boot=run.settings["n_boot"], seed=seed)
table_or_note(ddti, "DDTI was not run.", ["model", "n_images", "n_patients", "auc [95% CI]",
                                          "vote_accuracy [95% CI]", "recognition_rate [95% CI]"])

# %% [markdown]
# ## Table 2: P3's values and the comparison models run here
#
# P3's comparison with strain-ratio readings (MSR, ASR) and other networks, B-SE inputs,
# patient-wise, as printed, with the audit's notes on them. Below it, the comparison networks
# run here (settings, `comparisons`): B-SE lesion crops at this profile's image size, in the
# nested patient-grouped CV (pooled over the folds run), each a frozen backbone (random
# initialisation unless ImageNet weights are available: see the banner) with a trained
# global-average-pooling + softmax head on cached features. P3 does not say how it trained
# them, and its numbers are mean ± SD over its folds on real strain; ours are single pooled
# estimates on simulated strain, in %, patient-wise by eq. 1.

# %%
p3_report.paper_table("p3_table2")

# %%
markdown(p3_report.audit_note("Table 2"))

# %%
table2 = p3_report.table2_beside_paper(results, n_boot=run.settings["n_boot"], seed=seed)
table_or_note(table2, "No comparison model ran.")

# %% [markdown]
# ## Not on this page yet
#
# The ResNet-18 arm frozen through layer2 runs in `full` only (settings,
# `freeze_sensitivity`); Table 2's comparison models run in the nested CV only, not under
# P3's protocol.

# %% [markdown]
# ## Closing note

# %%
markdown(p3_report.closing_note(controls, ddti, run.profile.name, runtime, results.records))
