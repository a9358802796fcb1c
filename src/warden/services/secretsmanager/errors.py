"""Secrets Manager errors: one class per exception shape of the model, and the messages AWS
uses for the common cases (clients and the rotation templates match on some of them).

Every shape here is a 400 client error except ``InternalServiceError`` (the model marks it a
fault). Input that breaks a modelled constraint (a length or range) is the protocol's
``ValidationException``, worded as AWS words it; values of sensitive members are never echoed.
"""

from __future__ import annotations

from warden.core.errors import AwsError
from warden.protocol.errors import ValidationException as ValidationException


class _ClientError(AwsError):
    status = 400
    sender_fault = True


class ResourceNotFoundException(_ClientError):
    shape = code = "ResourceNotFoundException"


class InvalidParameterException(_ClientError):
    shape = code = "InvalidParameterException"


class InvalidRequestException(_ClientError):
    shape = code = "InvalidRequestException"


class ResourceExistsException(_ClientError):
    shape = code = "ResourceExistsException"


class LimitExceededException(_ClientError):
    shape = code = "LimitExceededException"


class EncryptionFailure(_ClientError):
    shape = code = "EncryptionFailure"


class DecryptionFailure(_ClientError):
    shape = code = "DecryptionFailure"


class MalformedPolicyDocumentException(_ClientError):
    shape = code = "MalformedPolicyDocumentException"


class PublicPolicyException(_ClientError):
    shape = code = "PublicPolicyException"


class InvalidNextTokenException(_ClientError):
    shape = code = "InvalidNextTokenException"


SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret."  # noqa: S105 - a message
MARKED_FOR_DELETION = (
    "You can't perform this operation on the secret because it was marked for deletion."
)
BOTH_VALUES = (
    "You can't specify both a binary secret value and a string secret value in the same secret."
)
MODIFY_VERSION = "You can't modify an existing version, you can only create a new version."
ROTATION_IN_PROGRESS = "A previous rotation isn't complete. That rotation will be reattempted."
NO_ROTATION_LAMBDA = "No Lambda rotation function ARN is associated with this secret."
STAGE_MISMATCH = "You provided a VersionStage that is not associated to the provided VersionId."
INVALID_NAME = (
    "Invalid name. Must be a valid name containing alphanumeric characters, "
    "or any of the following: -/_+=.@!"
)
NEED_TOKEN = "You must provide a ClientRequestToken value. We recommend a UUID-type value."  # noqa: S105


def secret_not_found() -> ResourceNotFoundException:
    return ResourceNotFoundException(message=SECRET_NOT_FOUND)


def value_not_found(*, version_id: str | None, stage: str | None) -> ResourceNotFoundException:
    """The message GetSecretValue answers when no version matches (the templates rely on it)."""
    what = f"VersionId: {version_id}" if version_id is not None else f"staging label: {stage}"
    return ResourceNotFoundException(
        message=f"Secrets Manager can't find the specified secret value for {what}"
    )


def marked_for_deletion() -> InvalidRequestException:
    return InvalidRequestException(message=MARKED_FOR_DELETION)


def managed_by(service: str, action: str) -> InvalidRequestException:
    return InvalidRequestException(
        message=f"You can't {action} this secret because it's managed by {service}. "
        f"Use {service} to {action} it."
    )


def too_long(member: str, limit: int, value: str | None = None) -> ValidationException:
    shown = f"Value '{value}' at" if value is not None else "Value at"
    return ValidationException(
        message=f"1 validation error detected: {shown} '{member}' failed to satisfy "
        f"constraint: Member must have length less than or equal to {limit}"
    )


def out_of_range(member: str, value: int, relation: str, bound: int) -> ValidationException:
    return ValidationException(
        message=f"1 validation error detected: Value '{value}' at '{member}' failed to "
        f"satisfy constraint: Member must have value {relation} {bound}"
    )


def not_in_enum(member: str, value: str, allowed: list[str]) -> ValidationException:
    return ValidationException(
        message=f"1 validation error detected: Value '{value}' at '{member}' failed to "
        f"satisfy constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
    )
