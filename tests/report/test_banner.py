"""The provenance banner states what is synthetic, and says nothing of the kind when all is real."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mstl_lib.data.sources import PHANTOM, REAL, STANDIN
from mstl_lib.report import banner


def use(name, kind, use_="train", n_images=10, note=""):
    return SimpleNamespace(name=name, use=use_, kind=kind, root=None, n_images=n_images, note=note)


def context(*uses, weights=None, data_root="/data"):
    """The attributes of a RunContext that the banner reads."""
    by_key = {(u.name, u.use): u for u in uses}
    return SimpleNamespace(
        profile=SimpleNamespace(name="smoke", summary="tiny run"), seed=3, data_root=data_root,
        data_root_reason="given", weights_request="auto", weights=weights or {}, uses=by_key,
        synthetic_uses=[u for u in uses if u.kind != REAL],
    )


def test_all_real_data_gives_a_note_without_warning():
    ctx = context(use("busi", REAL, n_images=647))
    assert banner.synthetic_warning(ctx) == ""
    text = banner.provenance_banner(ctx).data
    assert ":class: note" in text and "Not all data" not in text
    lines = banner.provenance_lines(ctx)
    assert lines[0] == "- **Profile**: `smoke`: tiny run"
    assert lines[1] == "- **Data folder**: `/data` (given)"
    assert lines[2] == "- **Datasets used**: busi (train): **real**, 647 images"
    assert "no pretrained network" in lines[3] and lines[4].startswith("- **Seed** 3 ·")
    from mstl_lib.engine.provenance import cpu_model
    from mstl_lib.nn.runtime import backend

    assert lines[5].startswith(f"- **Ran on**: Keras 3.") and f"on the `{backend()}` backend" in lines[5]
    assert lines[5].endswith("usable CPU core(s)") and cpu_model() in lines[5]


@pytest.mark.parametrize(("kind", "what"), [(PHANTOM, "phantoms from the project's generator"),
                                            (STANDIN, "a stand-in")])
def test_synthetic_data_are_named_with_what_they_feed(kind, what):
    ctx = context(use("busi", REAL), use("mt_small", kind, note="built from BUSI"))
    warning = banner.synthetic_warning(ctx)
    assert f"**mt_small** (train) is {what}: it feeds {banner.USE_FEEDS['train']}." in warning
    assert "The other datasets (busi) are the real ones." in warning
    text = banner.provenance_banner(ctx).data
    assert ":class: warning" in text and warning in text
    assert f"mt_small (train): **{kind}**, 10 images; built from BUSI" in text  # notes only for non-real data


def test_no_real_dataset_and_no_data_folder_are_said():
    ctx = context(use("busi", PHANTOM, use_="show"), data_root=None)
    assert banner.synthetic_warning(ctx).count("No real dataset is used on this page.") == 1
    assert banner.provenance_lines(ctx)[1] == "- **Data folder**: none found (given)"
