"""Staging labels as an explicit, pure state machine (no I/O, no clock).

The state is ``Labels``: which version holds each label. Keying by label makes "a label is
attached to at most one version of a secret" true by construction; the store mirrors it with
a primary key on (secret, label). Transitions return a new ``Labels`` or raise the AWS error
the operation answers:

- ``attach``: a new value is written as a version (CreateSecret, PutSecretValue, UpdateSecret).
  The listed labels move onto it (default ``AWSCURRENT``); the first value always gets
  ``AWSCURRENT``. When ``AWSCURRENT`` moves, ``AWSPREVIOUS`` moves onto the version it left,
  and a manual write abandons any rotation in progress: ``AWSPENDING`` is dropped.
- ``move``: UpdateSecretVersionStage. A label held elsewhere only moves when the caller names
  its holder in ``RemoveFromVersionId``; ``AWSCURRENT`` can move but never be removed.
- ``begin_rotation``: RotateSecret puts ``AWSPENDING`` on the new version's id. Refused while a
  rotation is in progress (``AWSPENDING`` on a version other than ``AWSCURRENT``).

Invariants (property-tested): labels are unique per secret; once a secret has ``AWSCURRENT``
no transition removes it; when ``AWSCURRENT`` moves, ``AWSPREVIOUS`` lands on the version it
left (unless the caller placed it explicitly); no version carries more than
``MAX_LABELS_PER_VERSION`` labels.
Versions holding no label are deprecated; ``expired_versions`` picks the ones to delete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import (
    ROTATION_IN_PROGRESS,
    InvalidParameterException,
    InvalidRequestException,
    LimitExceededException,
)

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
PREVIOUS = "AWSPREVIOUS"
MAX_LABELS_PER_VERSION = 20
MAX_VERSIONS = 100
DEPRECATED_GRACE = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Labels:
    """label -> version id, as sorted pairs (hashable, comparable, order-independent)."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, mapping: Mapping[str, str]) -> Labels:
        return cls(tuple(sorted(mapping.items())))

    def as_dict(self) -> dict[str, str]:
        return dict(self.pairs)

    def holder(self, label: str) -> str | None:
        for name, version in self.pairs:
            if name == label:
                return version
        return None

    def on(self, version_id: str) -> tuple[str, ...]:
        """The labels of one version, sorted as AWS lists them."""
        return tuple(name for name, version in self.pairs if version == version_id)

    def by_version(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for name, version in self.pairs:
            out.setdefault(version, []).append(name)
        return {version: tuple(names) for version, names in out.items()}

    def rotation_in_progress(self) -> bool:
        pending = self.holder(PENDING)
        return pending is not None and pending != self.holder(CURRENT)


def attach(labels: Labels, version_id: str, stages: Sequence[str] | None) -> Labels:
    """Labels after a new value is stored as ``version_id`` with ``VersionStages=stages``."""
    requested = list(dict.fromkeys(stages)) if stages is not None else [CURRENT]
    had_current = labels.holder(CURRENT)
    if had_current is None and CURRENT not in requested:
        requested.append(CURRENT)
    mapping = labels.as_dict()
    for label in requested:
        mapping[label] = version_id
    moved_current = CURRENT in requested and had_current not in (None, version_id)
    if moved_current and had_current is not None:
        if PREVIOUS not in requested:
            mapping[PREVIOUS] = had_current
        if PENDING not in requested:
            # A manual write during a rotation abandons it (CloudTrail RotationAbandoned).
            mapping.pop(PENDING, None)
    return _checked(Labels.of(mapping))


def move(
    labels: Labels,
    label: str,
    *,
    move_to: str | None,
    remove_from: str | None,
    versions: Iterable[str],
) -> Labels:
    """UpdateSecretVersionStage: attach ``label`` to ``move_to`` and/or detach it."""
    known = set(versions)
    for version_id in (move_to, remove_from):
        if version_id is not None and version_id not in known:
            raise InvalidParameterException(message=f"Not a valid version: {version_id}")
    holder = labels.holder(label)
    if remove_from is not None and holder != remove_from:
        raise InvalidParameterException(
            message=f"The staging label {label} is not attached to version {remove_from}, so "
            "you can't remove it from that version."
        )
    if move_to is not None and holder not in (None, move_to) and remove_from is None:
        raise InvalidParameterException(
            message=f"The parameter RemoveFromVersionId can't be empty. Staging label {label} "
            f"is currently attached to version {holder}, so you must explicitly reference "
            "that version in RemoveFromVersionId."
        )
    if move_to is None and label == CURRENT and holder is not None:
        raise InvalidParameterException(
            message="You can't remove the staging label AWSCURRENT without attaching it to "
            "another version. Specify MoveToVersionId."
        )
    mapping = labels.as_dict()
    if move_to is None:
        mapping.pop(label, None)
    else:
        mapping[label] = move_to
        if label == CURRENT and holder is not None and holder != move_to:
            mapping[PREVIOUS] = holder
    return _checked(Labels.of(mapping))


def begin_rotation(labels: Labels, version_id: str) -> Labels:
    """RotateSecret: ``AWSPENDING`` goes onto the new (empty) version ``version_id``."""
    if labels.rotation_in_progress():
        raise InvalidRequestException(message=ROTATION_IN_PROGRESS)
    mapping = labels.as_dict()
    mapping[PENDING] = version_id
    return _checked(Labels.of(mapping))


def deprecated(labels: Labels, versions: Iterable[str]) -> list[str]:
    held = {version for _, version in labels.pairs}
    return [v for v in versions if v not in held]


def expired_versions(
    labels: Labels, versions: Sequence[tuple[str, datetime]], now: datetime
) -> list[str]:
    """Deprecated versions to delete: beyond ``MAX_VERSIONS`` in all, oldest first, never one
    created within ``DEPRECATED_GRACE`` (as AWS: a burst of writes can exceed the cap)."""
    excess = len(versions) - MAX_VERSIONS
    if excess <= 0:
        return []
    held = {version for _, version in labels.pairs}
    candidates = sorted(
        (created, version)
        for version, created in versions
        if version not in held and now - created >= DEPRECATED_GRACE
    )
    return [version for _, version in candidates[:excess]]


def _checked(labels: Labels) -> Labels:
    for version, names in labels.by_version().items():
        if len(names) > MAX_LABELS_PER_VERSION:
            raise LimitExceededException(
                message=f"Version {version} would carry more than {MAX_LABELS_PER_VERSION} "
                "staging labels."
            )
    return labels
