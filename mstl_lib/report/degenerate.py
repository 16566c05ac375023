"""The sentence that names degenerate models which rank their test images no better than chance."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["chance_ranking_sentence", "epochs_phrase"]


def epochs_phrase(epochs: Sequence) -> str:
    """Training lengths in words: ``[3, 3]`` -> ``"3 epochs"``, ``[2, 3]`` -> ``"2 or 3 epochs"``, none -> ``"a few
    epochs"`` (NaN entries are ignored)."""
    values = sorted({int(v) for v in epochs if v == v and v is not None})
    if not values:
        return "a few epochs"
    return " or ".join(str(v) for v in values) + (" epoch" if values == [1] else " epochs")


def chance_ranking_sentence(named: Sequence[str], unit: str = "degenerate fold", budget: str = "a few epochs") -> str:
    """Why degenerate ``named`` models cannot be rescued: their AUC is at most 0.5 (``""`` when there is none).

    Parameters
    ----------
    named : sequence of str
        One label per degenerate model whose test AUC is at most 0.5, e.g. ``"MSTL adam fold 1 (AUC 0.33)"``.
    unit : str
        What one of them is called, singular.
    budget : str
        The training they had, e.g. ``"3 epochs"``.
    """
    if not named:
        return ""
    n = len(named)
    listed = named[0] if n == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return (f" {n} {unit}{'' if n == 1 else 's'} rank{'s' if n == 1 else ''} the test images no better than chance: "
            f"{listed}. That network learned nothing that carries over to its test images, and no threshold would "
            f"make its calls mean anything; the budget of {budget} from random weights did not reach a working model "
            "there.")
