"""$NORMCORE_SEED_OFFSET: one switch that shifts every seed the chapters use."""

import pytest

from normcore.seeds import SEED_OFFSET_ENV, seed, seed_offset, seeds
from normcore.sweeps import RunConfig, run_sweep


def test_no_offset_by_default(monkeypatch):
    monkeypatch.delenv(SEED_OFFSET_ENV, raising=False)
    assert seed_offset() == 0
    assert seed(3) == 3
    assert seeds(3) == (0, 1, 2)


def test_offset_shifts_every_seed(monkeypatch):
    monkeypatch.setenv(SEED_OFFSET_ENV, "1000")
    assert seed(0) == 1000
    assert seeds(3) == (1000, 1001, 1002)
    assert seeds([4, 7]) == (1004, 1007)


@pytest.mark.parametrize("text", ["-1", "abc", "1.5"])
def test_bad_offset_names_the_variable(monkeypatch, text):
    monkeypatch.setenv(SEED_OFFSET_ENV, text)
    with pytest.raises(ValueError, match=SEED_OFFSET_ENV):
        seed_offset()


def test_seed_rejects_non_int():
    with pytest.raises(TypeError, match="s must be"):
        seed(1.0)


def test_run_sweep_applies_the_offset(monkeypatch, tmp_path):
    # A tiny run: the point is which seeds the configurations carry, and that an
    # offset run is a different draw from the unshifted one.
    base = RunConfig(hidden_dims=(8,), num_epochs=1, num_train=100, num_val=50)
    monkeypatch.setenv(SEED_OFFSET_ENV, "0")
    plain = run_sweep({}, base=base, seeds=(0, 1), executor="serial", cache=tmp_path,
                      progress=False)
    monkeypatch.setenv(SEED_OFFSET_ENV, "500")
    shifted = run_sweep({}, base=base, seeds=(0, 1), executor="serial", cache=tmp_path,
                        progress=False)
    assert plain.seeds == (0, 1)
    assert shifted.seeds == (500, 501)
    assert [r.config.seed for r in shifted.runs] == [500, 501]
    assert not (plain.runs[0].loss_history == shifted.runs[0].loss_history).all()
