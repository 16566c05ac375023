"""The operating-point sentence counts what the moved threshold changed and what it rescued."""

import numpy as np

from mstl_lib.report.operating_point import operating_point_sentence


def test_counts_changed_and_rescued_units():
    sentence = operating_point_sentence([40, 40, 40], [20, 25, 18], [0, 25, 39], unit="fold")
    assert sentence == ("The operating point (a threshold chosen on each fold's validation images, where the network's own "
                        "threshold called at least 95% of them one class) changed the calls "
                        "of 2 of 3 folds; at the networks' own threshold, 2 of 3 folds would have been degenerate.")


def test_units_that_do_not_say_are_left_out_and_none_gives_nothing():
    assert "of 1 task;" in operating_point_sentence([10, 10], [5, 5], [5, np.nan], unit="task")
    assert operating_point_sentence([10], [5], [np.nan]) == ""
