"""KMS errors, one class per AWS error code (the model's exception shapes, status 400).

``ValidationException``, ``NotAuthorizedException`` and ``AccessDeniedException`` are not
shapes of the KMS model but are what KMS answers on the wire; the protocol layer uses
``code`` for them.
"""

from __future__ import annotations

from warden.core.errors import AwsError


class _KmsError(AwsError):
    status = 400
    sender_fault = True


class NotFoundException(_KmsError):
    shape = code = "NotFoundException"


class DisabledException(_KmsError):
    shape = code = "DisabledException"


class KMSInvalidStateException(_KmsError):
    shape = code = "KMSInvalidStateException"


class InvalidCiphertextException(_KmsError):
    shape = code = "InvalidCiphertextException"


class IncorrectKeyException(_KmsError):
    shape = code = "IncorrectKeyException"


class InvalidKeyUsageException(_KmsError):
    shape = code = "InvalidKeyUsageException"


class AlreadyExistsException(_KmsError):
    shape = code = "AlreadyExistsException"


class InvalidAliasNameException(_KmsError):
    shape = code = "InvalidAliasNameException"


class InvalidArnException(_KmsError):
    shape = code = "InvalidArnException"


class UnsupportedOperationException(_KmsError):
    shape = code = "UnsupportedOperationException"


class MalformedPolicyDocumentException(_KmsError):
    shape = code = "MalformedPolicyDocumentException"


class LimitExceededException(_KmsError):
    shape = code = "LimitExceededException"


class TagException(_KmsError):
    shape = code = "TagException"


class ConflictException(_KmsError):
    shape = code = "ConflictException"


class DryRunOperationException(_KmsError):
    shape = code = "DryRunOperationException"


class CustomKeyStoreNotFoundException(_KmsError):
    shape = code = "CustomKeyStoreNotFoundException"


class ValidationException(_KmsError):
    code = "ValidationException"


class NotAuthorizedException(_KmsError):
    code = "NotAuthorizedException"


class AccessDeniedException(_KmsError):
    code = "AccessDeniedException"


class KMSInternalException(AwsError):
    shape = code = "KMSInternalException"
    status = 500
    sender_fault = False


def bound_message(member: str, value: object, relation: str, bound: int) -> str:
    """AWS's wording for a number outside its modelled range."""
    return (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must have value {relation} {bound}"
    )


def enum_message(member: str, value: object, allowed: tuple[str, ...]) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
    )
