"""Fixtures every paper's tests share: a small phantom data folder, isolated build and results folders, and
each paper's smoke grids trained once per session on it."""

from __future__ import annotations

import pytest

from mstl_lib.data.phantoms import write_phantom_data_dir


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory):
    """A small phantom data folder (``busi/``, ``ddti/``, ``cells/<line>/``), written once per session."""
    return write_phantom_data_dir(tmp_path_factory.mktemp("phantoms") / "data", seed=0, scale="small")


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    """``MSTL_BUILD_DIR`` and ``MSTL_RESULTS_DIR`` under ``tmp_path``; returns the results folder."""
    monkeypatch.setenv("MSTL_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("MSTL_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path / "results"


class PhantomChapters:
    """Each paper's smoke grids, run through ``grids.run_all`` at most once per session on the phantom folder
    (random initialisation, seed 0), each paper into build and results folders of its own.

    A paper's tests that need a trained chapter share this one run, so its smoke grids train once.
    """

    def __init__(self, phantom_dir, root):
        self.phantom_dir, self.root = phantom_dir, root
        self.outcomes: dict = {}

    def env(self, key: str) -> dict[str, str]:
        """The ``MSTL_BUILD_DIR`` and ``MSTL_RESULTS_DIR`` paper ``key``'s run wrote to."""
        return {"MSTL_BUILD_DIR": str(self.root / key / "build"), "MSTL_RESULTS_DIR": str(self.root / key / "results")}

    def run(self, key: str):
        """``run_all``'s result for paper ``key`` (run on first use); raises what the run raised."""
        from mstl_lib import engine, papers  # noqa: PLC0415
        from mstl_lib.context import start_run  # noqa: PLC0415

        if key not in self.outcomes:
            with pytest.MonkeyPatch.context() as patch:
                for name, value in self.env(key).items():
                    patch.setenv(name, value)
                try:
                    run = start_run(papers.module(key, "settings").CHAPTER, profile="smoke",
                                    data_dir=str(self.phantom_dir), weights=None, seed=0)
                    self.outcomes[key] = papers.module(key, "grids").run_all(run, engine.ResultsStore())
                except Exception as err:  # noqa: BLE001 - recalled for every test of this paper
                    self.outcomes[key] = err
        outcome = self.outcomes[key]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.fixture(scope="session")
def phantom_chapters(phantom_dir, tmp_path_factory):
    """:class:`PhantomChapters` of this session."""
    return PhantomChapters(phantom_dir, tmp_path_factory.mktemp("phantom_chapters"))
