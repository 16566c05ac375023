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
# # The datasets
#
# Every chapter of this book trains and tests on the datasets shown here. This page
# counts them (per class and per group), shows samples with their lesion masks, the
# image sizes, the near-duplicate images hidden in BUSI, and what is missing and what
# replaces it. The loaders live in `mstl_lib.datasets`; see
# {doc}`../../book/data_availability` for the substitutions.

# %% tags=["parameters"]
profile = "cpu"
data_dir = "auto"
weights = "auto"
seed = 0

# %%
import pandas as pd

from mstl_lib import data, report

from mstl_lib.data import near_duplicates
from mstl_lib.context import start_run
from mstl_lib.profiles import settings_table

run = start_run("datasets", profile=profile, data_dir=data_dir, weights=weights, seed=seed)
settings = run.settings

busi = run.load("busi", include_normal=True)
ddti = run.try_load("ddti")
breakhis = run.try_load("breakhis")
cells = run.try_load("cells")
mendeley = run.try_load("mendeley")
mt_small = run.load_mt_small(busi[busi["target"] >= 0])

# %%
run.banner()

# %% [markdown]
# The settings of this chapter under each profile (the profile only limits how many
# images are hashed and shown; the counts always cover every image):

# %%
settings_table("datasets")

# %% [markdown]
# ## What was found
#
# One row per dataset the book uses: whether this build found the real data, a
# stand-in, synthetic phantoms, or nothing.

# %%
run.datasets_table()

# %% [markdown]
# ## BUSI: breast ultrasound
#
# BUSI {cite:p}`aldhabyani2020busi` has three classes. The benign-vs-malignant tasks of
# later chapters leave `normal` out. On the real data the counts must be 437 benign,
# 210 malignant and 133 normal. BUSI carries no patient identifiers, so until
# near-duplicates are merged below, every image is its own group.

# %%
data.class_counts(busi)

# %%
report.sample_grid(busi, per_class=settings["samples_per_class"], seed=seed,
                   title="BUSI samples; lesion masks outlined in red")

# %% [markdown]
# ### Near-duplicates
#
# BUSI contains exact and near-duplicate images, and some lesions appear under both
# classes. A split that puts one copy in training and another in test leaks. We hash
# every image with a perceptual hash (pHash, 64 bits) and link images whose hashes
# differ in at most `near_duplicates.DEFAULT_MAX_DISTANCE` bits; the connected
# components are the clusters. Chapters that run a leakage-aware protocol use these
# clusters as groups.

# %%
limit = settings["duplicate_scan_limit"]
scanned = busi if limit is None else busi.sample(n=min(limit, len(busi)), random_state=seed)
clusters = near_duplicates.duplicate_clusters(list(scanned["path"]))
clusters = clusters.merge(scanned[["path", "label"]], on="path", how="left")
summary = pd.Series(near_duplicates.cluster_summary(clusters, label_column="label"), name="BUSI")
report.markdown(
    f"Scanned **{len(scanned)}** of {len(busi)} BUSI images "
    f"({'all of them' if limit is None else f'a random subset: profile {run.profile.name}'}) "
    f"at a Hamming distance of at most {near_duplicates.DEFAULT_MAX_DISTANCE} bits."
)

# %%
summary.to_frame()

# %% [markdown]
# `n_clusters` counts clusters of two or more images, `n_redundant` the images a
# de-duplicated set would drop, and `n_label_conflicts` the clusters whose members sit
# in different class folders.

# %%
report.duplicate_examples(clusters, n_clusters=settings["duplicate_examples"])

# %% [markdown]
# ## DDTI: thyroid ultrasound
#
# DDTI {cite:p}`pedraza2015ddti` gives each image a TIRADS score rather than a
# pathology label. As most published work does, we take TIRADS 2 and 3 as benign and
# 4a, 4b, 4c and 5 as malignant, and leave out images without a score. Files are named
# `<case>_<k>`: several images can come from one case, so the case is the group.

# %%
if ddti is None:
    display(report.markdown("DDTI was not found; its chapters fall back to phantoms or skip it."))
else:
    excluded = ddti.attrs.get("excluded", {})
    tirads = ddti.groupby(["tirads", "label"]).size().rename("images").reset_index()
    display(tirads)
    display(report.markdown(f"Left out: {excluded}."))
    display(data.class_counts(ddti))

# %% [markdown]
# Grouping by case is not enough. The same perceptual hash finds identical images
# filed under different case numbers, so a case-grouped split can still put one image
# on both sides. Chapters that use DDTI merge these clusters into the groups as well
# (`near_duplicates.group_by_duplicates`).

# %%
if ddti is not None:
    ddti_limit = limit if limit is None else min(limit, len(ddti))
    ddti_scanned = ddti if ddti_limit is None else ddti.sample(n=ddti_limit, random_state=seed)
    ddti_grouped = near_duplicates.group_by_duplicates(ddti_scanned)
    ddti_clusters = ddti_grouped[ddti_grouped["dup_cluster_size"] > 1]
    cross_case = ddti_clusters.groupby("dup_cluster")["case"].nunique().gt(1).sum()
    display(pd.Series(ddti_grouped.attrs["near_duplicates"], name="DDTI").to_frame())
    display(report.markdown(
        f"Of {len(ddti_scanned)} DDTI images scanned, {len(ddti_clusters)} fall in "
        f"{ddti_clusters['dup_cluster'].nunique()} near-duplicate clusters; **{cross_case}** of "
        f"those clusters span more than one case number. Grouping by case and by cluster "
        f"leaves {ddti_grouped['group'].nunique()} groups, against "
        f"{ddti_scanned['group'].nunique()} cases."))

# %% [markdown]
# ## BreakHis: breast histology (sample)
#
# Only a 12-image sample of BreakHis {cite:p}`spanhol2016breakhis` is available here, in
# the official folder tree. The loader reads the class, tumour subtype, patient and
# magnification from the path; the group is the patient. The real sample holds 8 benign
# and 4 malignant images. They come from 9 patient folders (one benign patient at all four
# magnifications), not the 6 patients our issue tracker once stated.

# %%
if breakhis is None:
    display(report.markdown("BreakHis was not found, and nothing stands in for it."))
else:
    display(breakhis.groupby(["label", "subtype", "patient", "magnification"]).size()
            .rename("images").reset_index())
    display(data.class_counts(breakhis))
    display(report.markdown(f"Patients: **{breakhis['patient'].nunique()}**."))

# %% [markdown]
# ## Cancer-cell-line microscopy
#
# P1's stage 1 trains on 20,400 patches of three cell lines (HeLa, MCF-7, NCI-H1299)
# that were never released. The real frames below (bright-field H1299 and HeLa, and a
# DIC HeLa frame with a manual segmentation) serve to show the pre-processing; stage-1
# training uses three phantom cell lines unless a folder per cell line is supplied.

# %%
if cells is None:
    display(report.markdown("No cell frames were found."))
else:
    display(cells.drop(columns=["mask_paths"], errors="ignore"))
    display(report.show_frames(cells["path"].head(4), titles=list(cells["label"].head(4))))

# %% [markdown]
# ## Image sizes

# %%
report.size_histogram({name: table for name, table in
                       {"BUSI": busi, "DDTI": ddti, "BreakHis": breakhis}.items() if table is not None})

# %% [markdown]
# ## Mendeley and MT-Small
#
# P1 trained on the Mendeley breast ultrasound set {cite:p}`rodrigues2017mendeley` (a
# 100/100 sample of its 250 images) and on the MT-Small-Dataset {cite:p}`mtsmall`
# (200/200 BUSI-derived images). When they are supplied in the data folder they are
# used exactly as the paper does. Otherwise BUSI stands in for Mendeley, and an
# MT-Small stand-in is drawn from BUSI: 200 benign and 200 malignant images at
# 128 × 128 (fewer when fewer exist, as with phantoms).

# %%
display(data.class_counts(mt_small))
report.markdown(
    f"MT-Small: **{run.datasets['mt_small'].kind}** ({run.datasets['mt_small'].note or 'as supplied'}). "
    "Mendeley: " + (f"found, {len(mendeley)} images." if mendeley is not None
                    else "not found; BUSI benign vs malignant stands in."))

# %% [markdown]
# ## Provenance at the end of the run

# %%
run.datasets_table()
