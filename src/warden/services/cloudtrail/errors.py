"""CloudTrail errors used by LookupEvents, named as the model's exception shapes."""

from __future__ import annotations

from warden.core.errors import AwsError


class _ClientError(AwsError):
    status = 400
    sender_fault = True


class InvalidLookupAttributesException(_ClientError):
    shape = code = "InvalidLookupAttributesException"


class InvalidTimeRangeException(_ClientError):
    shape = code = "InvalidTimeRangeException"


class InvalidMaxResultsException(_ClientError):
    shape = code = "InvalidMaxResultsException"


class InvalidNextTokenException(_ClientError):
    shape = code = "InvalidNextTokenException"


class InvalidEventCategoryException(_ClientError):
    shape = code = "InvalidEventCategoryException"
