import pytest

from detectors.releases import ReleaseIndex
from schemas.events import ReleaseEvent

T0 = 1_772_460_000.0


def test_suspect_is_the_release_that_touched_the_feature():
    index = ReleaseIndex()
    index.add(ReleaseEvent(version="4.2.0", features=["checkout"], time=T0 - 1800))
    index.add(ReleaseEvent(version="4.2.1", features=["search"], time=T0 - 600))
    suspect = index.suspect("checkout", T0)
    assert suspect is not None and suspect.version == "4.2.0"
    assert 0.5 < suspect.confidence < 1.0
    assert index.suspect("billing", T0) is None


def test_recent_release_beats_an_older_one_and_shares_confidence():
    index = ReleaseIndex()
    index.add_release("old", T0 - 5 * 3600, ["checkout"])
    alone = index.suspect("checkout", T0)
    index.add_release("new", T0 - 300, ["checkout"])
    both = index.suspect("checkout", T0)
    assert both.version == "new"
    assert alone.confidence < both.confidence
    index_new_only = ReleaseIndex()
    index_new_only.add_release("new", T0 - 300, ["checkout"])
    assert both.confidence < index_new_only.suspect("checkout", T0).confidence


def test_releases_outside_the_lookback_are_not_suspects_and_are_forgotten():
    index = ReleaseIndex(lookback=3600)
    index.add_release("ancient", T0 - 2 * 3600, ["checkout"])
    assert index.suspect("checkout", T0) is None
    index.add_release("later", T0 + 5 * 3600, ["search"])
    assert len(index) == 1


def test_release_shortly_after_the_rise_start_still_counts():
    index = ReleaseIndex(slack=600)
    index.add_release("4.3.0", T0 + 120, ["checkout"])
    assert index.suspect("checkout", T0).version == "4.3.0"


def test_same_release_twice_is_indexed_once():
    index = ReleaseIndex()
    index.add_release("4.2.0", T0, ["a", "b"])
    index.add_release("4.2.0", T0, ["a", "b"])
    assert len(index) == 2


@pytest.mark.parametrize("name", ["lookback", "half_life", "unexplained_weight", "slack"])
def test_bad_arguments_are_rejected(name):
    with pytest.raises(ValueError, match=name):
        ReleaseIndex(**{name: -1.0})


def test_a_release_shortly_after_an_early_change_point_is_still_a_suspect():
    index = ReleaseIndex()
    index.add_release("old", T0 - 4 * 3600, ["checkout"])
    index.add_release("culprit", T0 + 300, ["checkout"])
    assert index.suspect("checkout", T0 - 1800).version == "old"  # noticed before the release
    assert index.suspect("checkout", T0, until=T0 + 3600).version == "culprit"


def test_a_rise_that_began_before_a_release_points_at_the_one_before():
    # Both touched the feature; the rise is estimated to start between them, 15 min after the first.
    index = ReleaseIndex()
    index.add_release("v1.31.0", T0 - 900, ["dashboards"])
    index.add_release("v1.30.0", T0 + 600, ["dashboards", "login"])
    suspect = index.suspect("dashboards", T0, until=T0 + 1800)
    assert suspect.version == "v1.31.0"
    assert 0.4 < suspect.confidence < 0.6  # the later release still shares the suspicion
