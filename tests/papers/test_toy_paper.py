"""A toy fifth paper, built from the recipe of ``book/adding_a_paper.md`` in a folder of its own, on phantoms.

It must be discovered, pass every contract check, run its grid through the engine, and reach the
scorecard through ``papers.claims`` like the four real papers, without touching the repository.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from mstl_lib import paper_values, papers
from mstl_lib.papers import contract

KEY, LABEL, NOTEBOOK = "p5_toy", "P5", "09_toy"

PACKAGE = {
    "__init__.py": f"""
        from mstl_lib.papers import PaperInfo

        PAPER = PaperInfo(key="{KEY}", label="{LABEL}", title="A toy paper", citation_key="toy2026",
                          claim="Brightness tells malignant from benign", notebook="{NOTEBOOK}")
    """,
    "settings.py": """
        from mstl_lib.profiles import ChapterSettings

        _SETTINGS = {"n_splits": 2, "folds_run": 2}
        CHAPTER = ChapterSettings(name="toy", by_profile={"smoke": _SETTINGS, "cpu": _SETTINGS, "full": _SETTINGS})


        def weights_backbones(profile):
            return ()
    """,
    "protocol.py": """
        import numpy as np

        from mstl_lib.data.images import read_image


        def brightness(paths):
            return np.array([[read_image(p, channels=1, size=(32, 32)).mean()] for p in paths])
    """,
    "tasks.py": """
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import StratifiedKFold

        from mstl_lib.data.sources import load_source
        from mstl_lib.papers.p5_toy import protocol

        RECIPE_VERSION = "p5-1"


        def brightness_task(config, fold, context):
            table = load_source(context["data_source"])
            table = table[table["target"] >= 0].reset_index(drop=True)
            folds = StratifiedKFold(context["n_splits"], shuffle=True, random_state=context["seed"])
            train, test = list(folds.split(table, table["target"]))[fold]
            x, y = protocol.brightness(table["path"]), table["target"].to_numpy()
            model = LogisticRegression(C=config["C"]).fit(x[train], y[train])
            score = model.predict_proba(x[test])[:, 1]
            return {"metrics": {"auc": float(roc_auc_score(y[test], score)),
                                "accuracy": float(((score > 0.5) == y[test]).mean())},
                    "predictions": {"y_true": y[test], "y_score": score}}
    """,
    "grids.py": """
        from mstl_lib.data.sources import load_source
        from mstl_lib.papers.p5_toy import tasks


        def build(run, store=None, verbose=0):
            source = run.source("busi", "train")
            if source is None:  # nothing serves BUSI: no grid, and the banner says the data are missing
                return {}
            table = load_source(source)
            grid = run.grid(f"toy-{run.profile.name}", [{"C": 1.0}], "mstl_lib.papers.p5_toy.tasks:brightness_task",
                            tasks.RECIPE_VERSION, table, source, n_splits=run.settings["n_splits"])
            return {grid.name: grid}


        def run_all(run, store=None, executor="auto", scheduler=None, verbose=0):
            return run.run_grids(build(run, store, verbose), store, executor=executor, scheduler=scheduler,
                                 verbose=verbose)
    """,
    "report.py": f"""
        from mstl_lib import engine
        from mstl_lib.evaluation.audit import audit_note_for
        from mstl_lib.papers.p5_toy import audit
        from mstl_lib.report import scorecard as sc

        NOTEBOOK = "{NOTEBOOK}"
        METRICS_BY_TASK = {{"mstl_lib.papers.p5_toy.tasks:brightness_task": ("auc", "accuracy")}}
        audit_note = audit_note_for(audit.findings, "{LABEL}")


        def collect(store, grids):
            return engine.collect(store, grids, lambda grid: {{}})


        def paper_claims():
            return [sc.Claim("{LABEL}", "auc-0.9", "Brightness reaches AUC 0.9", "0.9", "mean AUC over folds",
                             paper_number=0.9, evidence=sc.evidence_link(NOTEBOOK, "Results"))]


        def claims(profile="cpu", data_dir="auto", weights="auto", seed=0, store=None):
            from mstl_lib.context import start_run
            from mstl_lib.papers.p5_toy import grids, settings

            base = paper_claims()
            try:
                run = start_run(settings.CHAPTER, profile=profile, data_dir=data_dir, weights=weights, seed=seed)
                built = grids.build(run)
            except FileNotFoundError as error:
                return sc.cannot_run(base, profile, error)
            results = collect(store, built)
            done = results.part("records", status="done")
            kinds = {{grid.context["data_source"]["kind"] for grid in built.values()}}
            flags = sc.flags_for(not done.empty, kinds, ["random"], False)
            ours = float(done["auc"].mean()) if len(done) else None
            return [claim.with_result(ours, None, profile=profile, evidence_flags=flags) for claim in base]
    """,
    "audit.py": """
        def findings(data_dir="auto"):
            return []
    """,
}

PROJECT = {
    f"notebooks/{NOTEBOOK}.py": '# %% [markdown]\n# # A toy paper\n\n# %% tags=["parameters"]\nprofile: str = "cpu"\n',
    "_toc.yml": f"parts:\n  - chapters:\n      - file: build/notebooks/{NOTEBOOK}\n",
    "references.bib": "@misc{toy2026,\n  title = {A toy paper},\n  year = {2026}\n}\n",
    f"tests/papers/{KEY}/test_toy.py": "def test_nothing():\n    pass\n",
}

PAPER_VALUES = {
    "p5_table.csv": "# Paper: the toy paper, Table 1.\nmetric,value\nauc,0.9\n",
    "p5_claims.csv": "# Paper: the toy paper. The tolerance of each claim.\nclaim,margin,reason\nauc-0.9,0.05,toy\n",
}


def write(folder, files):
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture
def toy_paper(tmp_path, monkeypatch):
    """The toy paper's package on the papers' path, its project files and paper values in ``tmp_path``."""
    write(tmp_path / "packages" / KEY, PACKAGE)
    write(tmp_path / "project", PROJECT)
    values = tmp_path / "paper_values"
    write(values, PAPER_VALUES)
    for existing in paper_values.FOLDER.glob("*.csv"):  # the four papers' values stay readable
        (values / existing.name).write_bytes(existing.read_bytes())
    monkeypatch.setattr(papers, "__path__", [*papers.__path__, str(tmp_path / "packages")])
    monkeypatch.setattr(paper_values, "FOLDER", values)
    monkeypatch.setattr(papers, "PAPER_PACKAGES", papers.discover())
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith(f"mstl_lib.papers.{KEY}")]:
        del sys.modules[name]


def test_a_toy_fifth_paper_is_discovered_checked_run_and_scored(toy_paper, phantom_dir, isolated_dirs):
    root = toy_paper / "project"
    assert papers.PAPER_PACKAGES[-1] == KEY  # discovered, in the book's order (09 after 06)

    with pytest.raises(contract.ContractError, match="has no stored fingerprint") as missing:
        contract.check_recipe_fingerprint(KEY, root=root)
    fingerprint = papers.recipe_fingerprint(KEY)
    assert fingerprint in str(missing.value)  # the check prints the value to store
    (root / contract.FINGERPRINTS_FILE).write_text(json.dumps({KEY: {"p5-1": fingerprint}}))
    for name, check in contract.contract_checks(KEY, root=root):
        check()

    report = papers.module(KEY, "report")
    empty = toy_paper / "no_data"
    empty.mkdir()
    claim, = report.claims(profile="smoke", data_dir=str(empty), weights=None, store=isolated_dirs)
    assert claim.ours is None and claim.evidence_flags == ("not run",)  # no BUSI, so no grid and no number

    from mstl_lib.context import start_run  # noqa: PLC0415

    settings = papers.module(KEY, "settings")
    run = start_run(settings.CHAPTER, profile="smoke", data_dir=str(phantom_dir), weights=None, seed=0)
    runs = papers.module(KEY, "grids").run_all(run, isolated_dirs, executor="local")
    assert [len(r.records) for r in runs.values()] == [2]  # 1 configuration x 2 folds

    scored = [c for c in papers.claims(profile="smoke", data_dir=str(phantom_dir), weights=None, store=isolated_dirs)
              if c.paper == LABEL]
    assert len(scored) == 1 and 0.0 <= scored[0].ours <= 1.0 and scored[0].margin == 0.05
    assert scored[0].evidence_flags == ("random weights",)  # a task with no ImageNet start is flagged
