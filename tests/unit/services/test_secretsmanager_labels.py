"""The staging-label state machine (services/secretsmanager/labels.py), pure unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.services.secretsmanager.errors import (
    InvalidParameterException,
    InvalidRequestException,
    LimitExceededException,
)
from warden.services.secretsmanager.labels import (
    CURRENT,
    PENDING,
    PREVIOUS,
    Labels,
    attach,
    begin_rotation,
    deprecated,
    expired_versions,
    move,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def test_first_value_gets_current_even_with_other_stages() -> None:
    labels = attach(Labels(), "v1", ["CUSTOM"])
    assert labels.by_version() == {"v1": ("AWSCURRENT", "CUSTOM")}


def test_moving_current_moves_previous_and_sorts_labels() -> None:
    labels = attach(attach(Labels(), "v1", None), "v2", None)
    assert labels.by_version() == {"v1": (PREVIOUS,), "v2": (CURRENT,)}
    labels = attach(labels, "v3", None)
    assert labels.by_version() == {"v2": (PREVIOUS,), "v3": (CURRENT,)}
    assert deprecated(labels, ["v1", "v2", "v3"]) == ["v1"]


def test_custom_labels_move_without_touching_current() -> None:
    labels = attach(attach(Labels(), "v1", None), "v2", ["two", "one", "three"])
    assert labels.on("v2") == ("one", "three", "two")
    labels = attach(labels, "v3", ["one", "two", "four"])
    assert labels.on("v2") == ("three",)
    assert labels.on("v3") == ("four", "one", "two")
    assert labels.holder(CURRENT) == "v1"


def test_manual_write_abandons_rotation() -> None:
    labels = begin_rotation(attach(Labels(), "v1", None), "p1")
    assert labels.rotation_in_progress()
    labels = attach(labels, "v2", None)
    assert labels.holder(PENDING) is None
    assert labels.by_version() == {"v1": (PREVIOUS,), "v2": (CURRENT,)}


def test_pending_on_current_is_not_in_progress_and_write_of_pending_keeps_current() -> None:
    labels = attach(Labels(), "v1", None)
    labels = attach(labels, "v2", [PENDING])
    assert labels.holder(CURRENT) == "v1"
    assert labels.rotation_in_progress()
    labels = move(labels, CURRENT, move_to="v2", remove_from="v1", versions=["v1", "v2"])
    assert labels.by_version() == {"v1": (PREVIOUS,), "v2": (CURRENT, PENDING)}
    assert not labels.rotation_in_progress()


def test_rotation_in_progress_refuses_a_second_rotation() -> None:
    labels = begin_rotation(attach(Labels(), "v1", None), "p1")
    with pytest.raises(InvalidRequestException, match="previous rotation isn't complete"):
        begin_rotation(labels, "p2")


def test_move_needs_remove_from_when_label_is_held_elsewhere() -> None:
    labels = attach(attach(Labels(), "v1", None), "v2", [PENDING])
    with pytest.raises(InvalidParameterException) as err:
        move(labels, CURRENT, move_to="v2", remove_from=None, versions=["v1", "v2"])
    assert err.value.message == (
        "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is "
        "currently attached to version v1, so you must explicitly reference that version in "
        "RemoveFromVersionId."
    )
    with pytest.raises(InvalidParameterException, match="not attached to version v2"):
        move(labels, CURRENT, move_to="v2", remove_from="v2", versions=["v1", "v2"])


def test_move_rejects_unknown_versions_and_removing_current() -> None:
    labels = attach(Labels(), "v1", None)
    with pytest.raises(InvalidParameterException, match="Not a valid version: nope"):
        move(labels, "X", move_to="nope", remove_from=None, versions=["v1"])
    with pytest.raises(InvalidParameterException, match="AWSCURRENT"):
        move(labels, CURRENT, move_to=None, remove_from="v1", versions=["v1"])


def test_label_removal_deprecates_a_version() -> None:
    labels = attach(attach(Labels(), "v1", None), "v2", ["X"])
    labels = move(labels, "X", move_to=None, remove_from="v2", versions=["v1", "v2"])
    assert deprecated(labels, ["v1", "v2"]) == ["v2"]


def test_twenty_labels_per_version_at_most() -> None:
    labels = attach(Labels(), "v1", [f"L{i}" for i in range(19)])
    assert len(labels.on("v1")) == 20
    with pytest.raises(LimitExceededException):
        attach(attach(labels, "v2", ["extra"]), "v1", ["extra"])


def test_expired_versions_keep_recent_and_labelled_ones() -> None:
    labels = attach(Labels(), "current", None)
    old = [(f"old{i}", T0 + timedelta(minutes=i)) for i in range(101)]
    versions = [*old, ("current", T0)]
    now = T0 + timedelta(hours=23)
    assert expired_versions(labels, versions, now) == []  # all deprecated ones are < 24 h old
    now = T0 + timedelta(days=2)
    assert expired_versions(labels, versions, now) == ["old0", "old1"]
    assert expired_versions(labels, versions[:100], now) == []


_VERSIONS = ["v1", "v2", "v3", "v4"]
_LABELS = [CURRENT, PENDING, PREVIOUS, "A", "B"]
_step = st.one_of(
    st.tuples(
        st.just("attach"),
        st.sampled_from(_VERSIONS),
        st.none() | st.lists(st.sampled_from(_LABELS), min_size=1, max_size=3),
    ),
    st.tuples(
        st.just("move"),
        st.sampled_from(_LABELS),
        st.none() | st.sampled_from(_VERSIONS),
        st.none() | st.sampled_from(_VERSIONS),
    ),
    st.tuples(st.just("rotate"), st.sampled_from(_VERSIONS)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_step, max_size=25))
def test_any_sequence_keeps_labels_unique_and_current_present(steps: list[tuple]) -> None:
    labels = attach(Labels(), "v0", None)
    for step in steps:
        try:
            if step[0] == "attach":
                labels = attach(labels, step[1], step[2])
            elif step[0] == "move":
                labels = move(
                    labels, step[1], move_to=step[2], remove_from=step[3], versions=_VERSIONS
                )
            else:
                labels = begin_rotation(labels, step[1])
        except (InvalidParameterException, InvalidRequestException):
            continue  # a refused transition leaves the state as it was
        by_version = labels.by_version()
        seen = [name for names in by_version.values() for name in names]
        assert len(seen) == len(set(seen))  # every label on one version at most
        assert labels.holder(CURRENT) is not None  # AWSCURRENT is never lost
        assert all(names == tuple(sorted(names)) for names in by_version.values())
        assert dict(labels.pairs) == labels.as_dict()
