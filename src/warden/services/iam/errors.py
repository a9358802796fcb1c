"""IAM errors, one class per AWS error code (the exception shapes of the IAM model).

When the model names the shape, its code and HTTP status are what the client sees;
``code``/``status`` here repeat them for readers and for errors without a shape
(``ValidationError``, which IAM answers for inputs breaking a model constraint).
"""

from __future__ import annotations

from warden.core.errors import AwsError
from warden.core.errors import ValidationError as ValidationError
from warden.policy import PolicyError, PolicyErrorCode


class NoSuchEntity(AwsError):
    shape = "NoSuchEntityException"
    code = "NoSuchEntity"
    status = 404
    sender_fault = True


class InvalidInput(AwsError):
    shape = "InvalidInputException"
    code = "InvalidInput"
    status = 400
    sender_fault = True


class EntityAlreadyExists(AwsError):
    shape = "EntityAlreadyExistsException"
    code = "EntityAlreadyExists"
    status = 409
    sender_fault = True


class DeleteConflict(AwsError):
    shape = "DeleteConflictException"
    code = "DeleteConflict"
    status = 409
    sender_fault = True


class LimitExceeded(AwsError):
    shape = "LimitExceededException"
    code = "LimitExceeded"
    status = 409
    sender_fault = True


class MalformedPolicyDocument(AwsError):
    shape = "MalformedPolicyDocumentException"
    code = "MalformedPolicyDocument"
    status = 400
    sender_fault = True


class PasswordPolicyViolation(AwsError):
    shape = "PasswordPolicyViolationException"
    code = "PasswordPolicyViolation"
    status = 400
    sender_fault = True


class EntityTemporarilyUnmodifiable(AwsError):
    shape = "EntityTemporarilyUnmodifiableException"
    code = "EntityTemporarilyUnmodifiable"
    status = 409
    sender_fault = True


class UnmodifiableEntity(AwsError):
    shape = "UnmodifiableEntityException"
    code = "UnmodifiableEntity"
    status = 400
    sender_fault = True


class InvalidUserType(AwsError):
    shape = "InvalidUserTypeException"
    code = "InvalidUserType"
    status = 400
    sender_fault = True


def from_policy_error(error: PolicyError) -> AwsError:
    """The IAM error for a document the policy package refused, with AWS's reason."""
    if error.code is PolicyErrorCode.LIMIT_EXCEEDED:
        return LimitExceeded(message=error.reason)
    return MalformedPolicyDocument(message=error.reason)
