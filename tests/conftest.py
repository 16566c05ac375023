"""Shared fixtures: the real data folder (skipped when absent), quiet TensorFlow, the smoke-run notebooks."""

from __future__ import annotations

import os
import sys

import pytest

from mstl_lib.paths import REPO_ROOT

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if str(REPO_ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "scripts"))  # the tests import scripts/*.py by name
if str(REPO_ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "tests"))  # shared helpers (local_server.py) by name
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

BUILT_ONCE = ("smoke_notebooks", "phantom_chapters")
"""Session fixtures that train or execute notebooks: under pytest-xdist, every test using one runs on one worker."""


def shared_fixture_group(item) -> str | None:
    """The ``xdist_group`` of ``item``: the first :data:`BUILT_ONCE` fixture it uses, else its first module-scoped
    fixture (named with its module), else None (any worker)."""
    definitions = item._fixtureinfo.name2fixturedefs
    for name in BUILT_ONCE:
        if name in item.fixturenames:
            return name
    for name in item.fixturenames:
        found = definitions.get(name)
        if found and found[-1].scope == "module":
            return f"{item.module.__name__}::{name}"
    return None


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``-n 2 --dist loadgroup``, as ``make test`` runs), tests sharing a costly fixture go to
    one worker, so that it is built once per session, not once per worker."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        group = shared_fixture_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def shared_data():
    """Path of ``../shared/data``; tests using it are skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, imported without its start-up noise (Keras too); None where it is not installed."""
    from mstl_lib.nn.runtime import import_keras, import_tensorflow, tensorflow_available

    import_keras()
    return import_tensorflow() if tensorflow_available() else None


def build_chain_classifier(seed: int = 0):
    """Image -> preprocessing -> a plain chain "backbone" (7 layers, 2 BatchNorm) -> P4's head (8 units).

    A small network whose frozen-prefix cache, BatchNorm settling and head can be checked in seconds.
    """
    from mstl_lib.nn.runtime import import_keras
    from mstl_lib.seeding import seed_everything

    keras = import_keras()

    from mstl_lib.nn import heads

    seed_everything(seed)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(8, 3, padding="same")(x)
    backbone = keras.Model(inputs, x, name="backbone")
    image = keras.Input((16, 16, 3), name="image")
    features = backbone(keras.layers.Rescaling(2.0, offset=-1.0, name="preprocessing")(image))
    return keras.Model(image, heads.p4_head(units=8)(features), name="chain")


@pytest.fixture
def chain_classifier():
    """:func:`build_chain_classifier`, as a fixture (call it to build one)."""
    return build_chain_classifier


class SmokeNotebooks:
    """Executes each notebook of the book at most once per session, with ``profile=smoke``.

    The executed notebooks go to the smoke book's own folder (never ``build/notebooks``,
    which holds the user's book), where ``tests/book`` renders them. Each notebook trains
    into a results store of its own, so no cached record (not even another chapter's) hides a failure.
    """

    PARAMETERS = {"profile": "smoke", "data_dir": "auto", "weights": "auto", "seed": 0}

    def __init__(self, results_dir):
        from mstl_lib.paths import notebooks_build_dir, smoke_book_dir  # noqa: PLC0415

        import run_notebooks  # noqa: PLC0415

        self.run_notebooks = run_notebooks
        self.root = smoke_book_dir()
        self.out_dir = self.root / notebooks_build_dir().relative_to(REPO_ROOT)
        self.results_dir = results_dir
        self.outcomes: dict[str, float | BaseException] = {}

    def run(self, name: str) -> float:
        """Execute ``name`` (or recall its earlier run); its wall time in seconds. Raises when it failed."""
        if name not in self.outcomes:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("MSTL_RESULTS_DIR", str(self.results_dir / name))  # trains, reads no other's records
                try:
                    self.outcomes[name] = self.run_notebooks.execute(name, self.PARAMETERS, self.out_dir)
                except Exception as err:  # noqa: BLE001 - recalled for every test that needs this notebook
                    self.outcomes[name] = err
        outcome = self.outcomes[name]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.fixture(scope="session")
def smoke_notebooks(tmp_path_factory):
    """:class:`SmokeNotebooks` of this session: the tests that need executed notebooks share its runs."""
    return SmokeNotebooks(tmp_path_factory.mktemp("smoke_results"))


@pytest.fixture
def standin_imagenet(tmp_path, monkeypatch):
    """``write(backbones)``: stand-in ImageNet files in a temporary ``KERAS_HOME``, accepted through a manifest.

    Sets ``KERAS_HOME`` and ``MSTL_WEIGHTS_MANIFEST`` for this test (and the kernels it starts).
    """
    from standin_weights import write_standin_weights

    from mstl_lib import downloads

    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))

    def write(backbones):
        manifest = write_standin_weights(home, backbones)
        monkeypatch.setenv(downloads.MANIFEST_ENV, str(manifest))
        return home / "models"

    return write
