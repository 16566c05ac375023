"""The parameters page is generated from the notebooks' parameters cells."""

from __future__ import annotations

import pytest

from mstl_lib.report import parameters


def test_the_page_equals_what_the_notebooks_say():
    assert parameters.PAGE.read_text(encoding="utf-8") == parameters.parameters_page(), (
        "book/parameters.md is out of date: python -m mstl_lib.report.parameters --write")


def test_a_notebook_s_parameters_are_read_with_type_default_and_help(tmp_path):
    path = tmp_path / "09_toy.py"
    path.write_text('# %% [markdown]\n# # A toy chapter\n\n# %% tags=["parameters"]\n'
                    'profile: str = "cpu"  # smoke, cpu or full\nseed: int = 3  # seed of everything\n\n'
                    "# %%\nprint(profile)\n", encoding="utf-8")
    assert parameters.notebook_parameters(path) == [
        {"name": "profile", "type": "str", "default": '"cpu"', "help": "smoke, cpu or full"},
        {"name": "seed", "type": "int", "default": "3", "help": "seed of everything"}]
    page = parameters.parameters_page(tmp_path)
    assert "## `09_toy`: A toy chapter" in page and "| `seed` | int | `3` | seed of everything |" in page
    path.write_text("# %%\nprofile = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="09_toy.py: expected one cell tagged 'parameters', found 0"):
        parameters.notebook_parameters(path)
