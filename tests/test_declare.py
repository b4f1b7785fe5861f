"""Settings declared once: parsing what a person typed against a field's declaration."""
import pytest

from studio.config.declare import parse
from studio.config.settings import TrainConfig


@pytest.mark.parametrize("bad", [None, "", "abc", float("nan"), float("inf"), 1.5, True, 0, 6000])
def test_declared_whole_numbers_reject_bad_values(bad):
    with pytest.raises(ValueError):
        parse(TrainConfig, "steps", bad)


def test_declared_whole_numbers_accept_whole_floats_and_text():
    assert parse(TrainConfig, "steps", 5.0) == 5
    assert parse(TrainConfig, "steps", "7") == 7


def test_declared_fractions_blank_means_default_and_bad_values_are_refused():
    assert parse(TrainConfig, "learning_rate", "", blank=None) is None
    assert parse(TrainConfig, "learning_rate", None, blank=None) is None
    assert parse(TrainConfig, "learning_rate", " 0.01 ".strip(), blank=None) == 0.01
    for bad in ("fast", "nan", -1, 11):
        with pytest.raises(ValueError):
            parse(TrainConfig, "learning_rate", bad, blank=None)
