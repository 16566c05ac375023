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
# replaces it. The loaders live in `mstl_lib.data`; see
# {doc}`../../book/data_availability` for the substitutions.

# %% tags=["parameters"]
profile: str = "cpu"  # smoke (seconds, for tests), cpu (real data, scaled down) or full (the paper's protocol)
data_dir: str = "auto"  # folder holding busi/, ddti/...; "auto": MSTL_DATA_DIR, ../shared/data, ~/mstl_data
weights: str = "auto"  # "auto" (ImageNet where available), "imagenet", "none" (random) or a weights file
seed: int = 0  # seed of splits, initialisation and augmentation

# %%
from mstl_lib import data, report
from mstl_lib.context import start_run
from mstl_lib.profiles import DATASETS_CHAPTER
from mstl_lib.report import datasets as data_report

run = start_run(DATASETS_CHAPTER, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
settings = run.settings

busi = run.load("busi", include_normal=True)
ddti = run.try_load("ddti")
breakhis = run.try_load("breakhis")
cells = run.try_load("cells")
mendeley = run.try_load("mendeley")
mt_small = data.load_source(run.mt_small_source(run.source("busi", "show"), use="show"))

# %%
run.banner()

# %% [markdown]
# The settings of this chapter under each profile (the profile only limits how many
# images are hashed and shown; the counts always cover every image):

# %%
DATASETS_CHAPTER.table()

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

# %% mystnb={"image": {"alt": "Grid of BUSI ultrasound images, one row per class (benign, malignant), each lesion mask outlined in vermillion"}, "figure": {"caption": "Sample BUSI images per class, with their lesion masks outlined."}}
report.sample_grid(busi, per_class=settings["samples_per_class"], seed=seed,
                   title="BUSI samples; lesion masks outlined in vermillion")

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
clusters, summary = data_report.duplicate_scan(busi, settings["duplicate_scan_limit"], seed, "BUSI")
report.markdown(data_report.scan_sentence(summary, run.profile.name))

# %%
summary.to_frame()

# %% [markdown]
# `n_clusters` counts clusters of two or more images, `n_redundant` the images a
# de-duplicated set would drop, and `n_label_conflicts` the clusters whose members sit
# in different class folders.

# %% mystnb={"image": {"alt": "Rows of BUSI images, each row the members of one of the largest near-duplicate clusters, titled with file name and class"}, "figure": {"caption": "Near-duplicate clusters in BUSI: images that would leak across a split if split as independent."}}
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
    display(data_report.show_missing(ddti, "DDTI"))  # noqa: F821 - IPython
else:
    display(data_report.tirads_table(ddti), report.markdown(data_report.excluded_sentence(ddti)),  # noqa: F821
            data.class_counts(ddti))

# %% [markdown]
# Grouping by case is not enough. The same perceptual hash finds identical images
# filed under different case numbers, so a case-grouped split can still put one image
# on both sides. Chapters that use DDTI merge these clusters into the groups as well
# (`near_duplicates.group_by_duplicates`).

# %%
if ddti is not None:
    ddti_summary, ddti_sentence = data_report.cross_case_duplicates(ddti, settings["duplicate_scan_limit"], seed)
    display(ddti_summary.to_frame(), report.markdown(ddti_sentence))  # noqa: F821 - IPython

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
    display(data_report.show_missing(breakhis, "BreakHis"))  # noqa: F821 - IPython
else:
    display(data_report.breakhis_table(breakhis), data.class_counts(breakhis),  # noqa: F821
            report.markdown(data_report.patients_sentence(breakhis)))

# %% [markdown]
# ## Cancer-cell-line microscopy
#
# P1's stage 1 trains on 20,400 patches of three cell lines (HeLa, MCF-7, NCI-H1299)
# that were never released. The real frames below (bright-field H1299 and HeLa, and a
# DIC HeLa frame with a manual segmentation) serve to show the pre-processing; stage-1
# training uses three phantom cell lines unless a folder per cell line is supplied.

# %% mystnb={"image": {"alt": "Four bright-field microscopy frames of cultured cancer cells, titled with their cell line"}, "figure": {"caption": "Cell microscopy frames found in the data folder."}}
if cells is None:
    display(data_report.show_missing(cells, "Cell microscopy"))  # noqa: F821 - IPython
else:
    display(cells.drop(columns=["mask_paths"], errors="ignore"),  # noqa: F821
            report.show_frames(cells["path"].head(4), titles=list(cells["label"].head(4))))

# %% [markdown]
# ## Image sizes

# %% mystnb={"image": {"alt": "Histograms of image height and width for each dataset found (BUSI, DDTI, BreakHis)"}, "figure": {"caption": "Image sizes per dataset, in pixels."}}
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
display(data.class_counts(mt_small))  # noqa: F821 - IPython
report.markdown(data_report.substitution_sentence(run))

# %% [markdown]
# ## Provenance at the end of the run

# %%
run.datasets_table()
