"""The shared prose helpers on tiny inputs."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mstl_lib.report.text import finished_only, join_words, number_text, percent_text, plural


@pytest.mark.parametrize(("items", "joined"), [([], ""), (["a"], "a"), (["a", "", "b"], "a and b"),
                                               (["a", "b", "c"], "a, b and c")])
def test_join_words(items, joined):
    assert join_words(items) == joined


def test_plural_and_numbers():
    assert (plural(1, "fold"), plural(0, "fold"), plural(3, "fold")) == ("1 fold", "0 folds", "3 folds")
    assert number_text(0.12345) == "0.123" and number_text(2, digits=1) == "2.0"
    assert percent_text(99.14) == "99.1 %"
    for missing in (None, math.nan, math.inf):
        assert number_text(missing) == percent_text(missing) == "n/a"


def test_finished_only_keeps_done_records_and_frames_without_a_status():
    records = pd.DataFrame({"status": ["done", "failed", "done"], "auc": [0.7, None, 0.8]})
    assert finished_only(records)["auc"].tolist() == [0.7, 0.8]
    assert finished_only(records.iloc[:0]).empty
    plain = pd.DataFrame({"auc": [0.5]})
    assert finished_only(plain) is plain
