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
# # Audit: do the papers' own numbers add up?
#
# Before asking whether a result reproduces, we ask whether the paper's numbers are
# consistent with each other, for each of the four papers ({cite:t}`ayana2022mstl`,
# {cite:t}`abualhaija2020resnet50`, {cite:t}`misra2021ensemble`, {cite:t}`balghaoui2023finetuning`). Each paper's `audit` module runs the shared checks of
# `mstl_lib.evaluation.audit` on the paper's tables as typed in `mstl_lib/paper_values/`:
#
# - row and column sums against stated totals, and stated splits against their ratios;
# - stated dataset counts against the counts of our copy of the data (from the loaders),
#   where we have one;
# - metric identities: accuracy against sensitivity, specificity (or precision) and the
#   class counts; F1 against precision and recall;
# - whether a mean over cross-validation folds is attainable at all: with 5 test folds
#   of 40 images an accuracy is a multiple of 1/200, and its ± must be the spread of five
#   numbers k/40 under some convention (SD with n − 1, SD with n, or either divided by
#   √n), which the table names;
# - p-values recomputed from the paper's own numbers where the test can be identified;
# - rounding (a printed number is an interval: 0.93 is anything in [0.925, 0.935]; a
#   check fails only when no value of that interval works, and says when truncation,
#   not rounding, explains a number);
# - the bibliography entry against the paper's text.
#
# A verdict is *consistent*, *inconsistent* or *cannot check* (with the reason). Where a
# check rests on an assumption the paper leaves open (the fold sizes of a stratified
# split, say), its name states it. The chapters cite every inconsistency next to the
# number it concerns.

# %% tags=["parameters"]
profile: str = "cpu"  # smoke (seconds, for tests), cpu (real data, scaled down) or full (the paper's protocol)
data_dir: str = "auto"  # folder holding busi/, ddti/...; "auto": MSTL_DATA_DIR, ../shared/data, ~/mstl_data
weights: str = "auto"  # "auto" (ImageNet where available), "imagenet", "none" (random) or a weights file
seed: int = 0  # seed of splits, initialisation and augmentation

# %%
import pandas as pd
from IPython.display import display

from mstl_lib import data, papers
from mstl_lib.context import start_run
from mstl_lib.evaluation import audit
from mstl_lib.report import markdown

start_run("verdicts", profile=profile, data_dir=data_dir, weights=weights, seed=seed)  # checks the parameters
findings = papers.findings(data_dir)
frame = audit.findings_frame(findings)
folder, reason = data.locate_data_dir(data_dir)
markdown("```{admonition} Provenance of the numbers on this page\n:class: note\n\n"
         "- **The papers' numbers**: `mstl_lib/paper_values/` (typed from the papers; each file names its table)\n"
         f"- **Our counts**: the loaders, on the data folder `{folder}` ({reason}); a dataset without a copy "
         "there cannot be checked\n"
         f"- **Papers' texts** (for the bibliography): `{audit.papers_text_dir()}`\n"
         "- Nothing on this page is trained; the profile does not change it.\n```")

# %% [markdown]
# ## Verdicts per paper

# %%
audit.verdict_counts(findings)

# %% [markdown]
# ## The inconsistencies
#
# Every finding whose verdict is *inconsistent*: where it is, what was checked, and the
# computation.

# %%
frame[frame["verdict"] == audit.INCONSISTENT][["paper", "location", "check", "computation", "detail"]]

# %% [markdown]
# ## Every finding
#
# The full table (the *claims* column names the scorecard rows a finding bears on).

# %%
with pd.option_context("display.max_rows", None):
    display(frame)

# %% [markdown]
# ## Closing note

# %%
markdown(audit.closing_note(findings))
