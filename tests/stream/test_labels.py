"""The shared bound on a label's distinct values."""

from __future__ import annotations

import pytest

from stream.labels import OTHER, LabelCap


def test_known_values_stay_admitted_after_the_cap_is_reached():
    cap = LabelCap(2)
    assert [cap.label(v) for v in ("a", "b", "c", "a", "b")] == ["a", "b", None, "a", "b"]
    assert cap.label_or_other("d") == OTHER
    assert len(cap) == 2


def test_limit_must_be_positive():
    with pytest.raises(ValueError, match="limit"):
        LabelCap(0)
