"""The chance-ranking sentence names each degenerate model that no threshold could rescue."""

import math

import pytest

from mstl_lib.report.degenerate import chance_ranking_sentence, epochs_phrase


@pytest.mark.parametrize(("epochs", "expected"), [([3, 3], "3 epochs"), ([3, 2, math.nan], "2 or 3 epochs"),
                                                  ([1], "1 epoch"), ([], "a few epochs"), ([math.nan], "a few epochs")])
def test_epochs_phrase(epochs, expected):
    assert epochs_phrase(epochs) == expected


def test_chance_ranking_sentence_names_each_model_and_agrees_in_number():
    assert chance_ranking_sentence([]) == ""
    one = chance_ranking_sentence(["A (AUC 0.40)"], "degenerate model", "15 epochs")
    assert one.startswith(" 1 degenerate model ranks the test images no better than chance: A (AUC 0.40).")
    assert "the budget of 15 epochs from random weights" in one
    two = chance_ranking_sentence(["A", "B", "C"])
    assert two.startswith(" 3 degenerate folds rank the test images no better than chance: A, B and C.")
