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
# # Scorecard: which claims hold
#
# One row per claim of the papers this book replicates: each headline number, each
# comparison and each significance statement. Every row sets the paper's value beside
# ours with a 95 % confidence interval, names the data, weights and profile behind ours,
# and gives one verdict, by the rules replication studies use
# (`mstl_lib.evaluation.replication`, tested on worked examples):
#
# - **Fidelity first.** A run is *direct* only under the `full` profile, on the paper's
#   data, with ImageNet weights; anything else is *reduced*. A reduced run can support a
#   claim but never refute it {cite}`nosek2020replication`.
# - **reproduced** (direct) or **supported at reduced scale** (reduced): for a number, our
#   estimate is equivalent to the paper's within a tolerance Δ by two one-sided tests at
#   α = 0.05 {cite}`lakens2017equivalence`, our uncertainty combined with the paper's own
#   (its ± over k folds, SD/√k) {cite}`patil2016replication`; for a comparison, a ranking or
#   a significance statement, our CI of the deciding quantity (e.g. a mean paired
#   difference, whose 95 % t-interval excludes 0 exactly when a two-sided paired t-test gives
#   p < 0.05) lies wholly on the claimed side.
# - **inconclusive**: neither. A CI that includes the null fails to reject it, which is not
#   a refutation {cite}`pawel2024replication`.
# - **not reproduced** (direct runs only), with how: *lower* or *higher* (the number differs
#   by more than Δ with confidence), *reversed* (the CI lies wholly on the other side) or *no
#   meaningful gain* (the CI lies wholly short of the smallest effect of interest δ).
# - **cannot be checked here**, with the reason: the data are private or absent, our
#   evidence comes from synthetic data, random instead of ImageNet weights, or a
#   degenerate model (one that gives nearly every image one class), or the chapter has
#   not run under this profile. Such evidence never decides a claim, either way.
#
# Δ and δ are stated per claim, with a one-line reason, in `paper_values/<paper>_claims.csv`.
# Beside each verdict stand the raw criteria {cite}`errington2021replication` (same
# direction, our CI excludes the null, the paper's value in our CI, our estimate in the
# prediction interval) and whether the row rests on one seed: a single run's bootstrap
# leaves out the spread that seeds and splits add {cite}`bouthillier2021variance`.
#
# The **as printed** column needs no run of ours: it says whether the audit
# ({doc}`08_audit`) found the paper's own numbers behind the claim consistent. Beside the
# verdict, *protocol flaw* marks a claim whose protocol leaks (the same case or
# near-duplicate images on both sides of a split) or picks its result on the test data.
# The page reads the records the chapters stored; it trains nothing. Each paper's
# `report.claims` declares its claims (`mstl_lib.papers` documents how), so a paper added
# to the book adds its rows here.

# %% tags=["parameters"]
profile: str = "cpu"  # smoke (seconds, for tests), cpu (real data, scaled down) or full (the paper's protocol)
data_dir: str = "auto"  # folder holding busi/, ddti/...; "auto": MSTL_DATA_DIR, ../shared/data, ~/mstl_data
weights: str = "auto"  # "auto" (ImageNet where available), "imagenet", "none" (random) or a weights file
seed: int = 0  # seed of splits, initialisation and augmentation

# %%
from IPython.display import HTML, display

from mstl_lib import engine, papers
from mstl_lib.context import start_run
from mstl_lib.report import exports, markdown, scorecard

start_run("verdicts", profile=profile, data_dir=data_dir, weights=weights, seed=seed)  # checks the parameters
store = engine.ResultsStore()
claims = papers.claims(profile=profile, data_dir=data_dir, weights=weights, seed=seed, store=store)
findings = papers.findings(data_dir)
frame = scorecard.scorecard_frame(claims, findings)
scorecard.provenance_note(profile, store.root, frame)

# %% [markdown]
# ## The scorecard
#
# The *evidence* link of a row opens the chapter section with the runs behind it.

# %%
display(HTML(scorecard.scorecard_html(frame)))
exports.download(scorecard.scorecard_numbers(claims, frame=frame), "scorecard")

# %% [markdown]
# ## At a glance
#
# Per claim, the paper's value (vermillion diamond) and ours with its 95 % CI (black); a dotted
# line marks the boundary a comparison must clear. A panel title gives the verdict and
# its flags.

# %% mystnb={"image": {"alt": "One panel per claim: the paper's value as a vermillion diamond, ours as a black dot with its 95 % CI, and the dotted boundary the comparison must clear"}, "figure": {"caption": "Every claim at a glance: the paper's value, ours and the boundary."}}
scorecard.scorecard_figure(claims, findings)

# %% [markdown]
# ## Closing note

# %%
markdown(scorecard.closing_note(frame, findings))
