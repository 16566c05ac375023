"""The landing page's chapter times: the latest computed run per chapter, its budget and the total."""

from __future__ import annotations

from mstl_lib.report import run_times


def _run(name, seconds, trained=3, cached=0, profile="cpu", budget=2.0, ok=True):
    return {"name": name, "seconds": seconds, "trained": trained, "cached": cached, "failed": 0,
            "peak_rss_mb": 2048.0, "ok": ok, "profile": profile, "budget_minutes": budget}


def test_nothing_recorded_says_so(tmp_path):
    page = run_times.write_page("cpu", runs_path=tmp_path / "none.jsonl", page_path=tmp_path / "t.md")
    assert page.read_text().strip() == run_times.NOT_MEASURED


def test_a_cached_rerun_does_not_hide_the_computed_time(tmp_path):
    path = tmp_path / "runs.jsonl"
    for run in (_run("03_multistage", 600.0), _run("03_multistage", 40.0, trained=0, cached=20),
                _run("01_datasets", 7.0, trained=0, cached=0, budget=1.0),
                _run("04_finetuning_svm", 900.0, budget=12.0), _run("04_finetuning_svm", 1.0, ok=False),
                _run("02_first_grid", 9.0, profile="smoke")):
        run_times.record(run, path)
    chosen = run_times.latest(run_times.read(path), "cpu")
    assert list(chosen) == ["03_multistage", "01_datasets", "04_finetuning_svm"]
    assert chosen["03_multistage"]["seconds"] == 600.0 and chosen["04_finetuning_svm"]["seconds"] == 900.0
    text = run_times.table(run_times.read(path), "cpu")
    assert "| 03_multistage | 10.0 min | 2 min (over) | 3 | 0 | 0 | 2.0 GB |" in text
    assert "| 04_finetuning_svm | 15.0 min | 12 min (over) |" in text
    assert "| 01_datasets | 0.1 min | 1 min |" in text
    assert "add up to **25.1 min**" in text and "02_first_grid" not in text
    from mstl_lib.engine.provenance import cpu_model

    assert f"CPU core(s) of {cpu_model()};" in text  # the times name the CPU they were measured on


def test_a_chapter_only_ever_cached_is_labelled(tmp_path):
    path = tmp_path / "runs.jsonl"
    run_times.record(_run("02_first_grid", 5.0, trained=0, cached=3), path)
    assert "02_first_grid took every task from the results cache" in run_times.table(run_times.read(path))


def test_an_unreadable_line_is_skipped(tmp_path):
    path = tmp_path / "runs.jsonl"
    run_times.record(_run("01_datasets", 7.0), path)
    with open(path, "a") as handle:
        handle.write('{"name": "half')
    assert len(run_times.read(path)) == 1
