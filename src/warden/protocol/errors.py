"""The common errors every protocol answers, modelled errors by shape name, and how
an ``AwsError`` resolves to a wire code and HTTP status for one service.

One class per AWS error code (house rule). Which class a given kind of bad request
becomes depends on the protocol family (``ErrorStyle``): the XML families answer
``InvalidAction`` / ``MissingParameter``, the JSON families ``UnknownOperationException``
/ ``ValidationException``, as AWS does.

Resolution invariant: when the service model defines an exception shape named
``error.shape``, its modelled code and HTTP status win; otherwise the class's
``code`` / ``status`` are used. Handlers raise modelled exceptions with
``ServiceError.of("DBClusterNotFoundFault", message="...", **modelled_fields)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from warden.core.errors import (
    AwsError,
    InternalFailure,
    InvalidParameterValue,
    MissingParameter,
    ValidationError,
)
from warden.protocol.shapes import Node, ShapePlans

__all__ = [
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "AwsError",
    "ErrorStyle",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "InternalFailure",
    "InvalidAction",
    "InvalidClientTokenId",
    "InvalidParameterValue",
    "InvalidSignatureException",
    "MalformedQueryString",
    "MissingAction",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "MissingParameter",
    "OperationNotImplemented",
    "RequestEntityTooLarge",
    "RequestEntityTooLargeException",
    "RequestExpired",
    "Resolved",
    "SerializationException",
    "ServiceError",
    "SignatureDoesNotMatch",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "ValidationError",
    "ValidationException",
    "auth_error",
    "resolve",
    "style_for",
]


class _Sender(AwsError):
    status = 400
    sender_fault = True


# --- request shape errors -----------------------------------------------------------
class MissingAction(_Sender):
    code = "MissingAction"


class InvalidAction(_Sender):
    code = "InvalidAction"


class MalformedQueryString(_Sender):
    code = "MalformedQueryString"
    status = 404  # as documented in the AWS common errors


class UnknownOperationException(_Sender):
    shape = code = "UnknownOperationException"


class SerializationException(_Sender):
    shape = code = "SerializationException"


class ValidationException(_Sender):
    shape = code = "ValidationException"


class RequestEntityTooLarge(_Sender):
    code = "RequestEntityTooLarge"
    status = 413


class RequestEntityTooLargeException(_Sender):
    code = "RequestEntityTooLargeException"
    status = 413


class OperationNotImplemented(AwsError):
    """An operation of the served model that warden does not implement.

    501, not 500: clients do not retry it, and it is honest about the cause.
    """

    code = "NotImplemented"
    status = 501
    sender_fault = False


# --- authentication and authorization -----------------------------------------------
class MissingAuthenticationToken(AwsError):
    code, status, sender_fault = "MissingAuthenticationToken", 403, True


class MissingAuthenticationTokenException(AwsError):
    code, status, sender_fault = "MissingAuthenticationTokenException", 403, True


class IncompleteSignature(_Sender):
    code = "IncompleteSignature"


class IncompleteSignatureException(_Sender):
    code = "IncompleteSignatureException"


class InvalidClientTokenId(AwsError):
    code, status, sender_fault = "InvalidClientTokenId", 403, True


class UnrecognizedClientException(AwsError):
    code, status, sender_fault = "UnrecognizedClientException", 403, True


class SignatureDoesNotMatch(AwsError):
    code, status, sender_fault = "SignatureDoesNotMatch", 403, True


class InvalidSignatureException(AwsError):
    code, status, sender_fault = "InvalidSignatureException", 403, True


class RequestExpired(_Sender):
    code = "RequestExpired"


class ExpiredToken(AwsError):
    code, status, sender_fault = "ExpiredToken", 403, True


class ExpiredTokenException(AwsError):
    code, status, sender_fault = "ExpiredTokenException", 403, True


class AccessDenied(AwsError):
    code, status, sender_fault = "AccessDenied", 403, True


class AccessDeniedException(_Sender):
    # 400 as Secrets Manager and KMS document it; rest-json models (GuardDuty,
    # Security Hub) define the shape with 403, and the model wins.
    shape = code = "AccessDeniedException"


class ServiceError(AwsError):
    """A modelled exception of the service, raised by its shape name.

    ``ServiceError.of("NoSuchEntityException", message="...", **fields)``: ``fields``
    are other members of the exception shape, keyed by member name. The wire code
    and status come from the model (IAM's ``NoSuchEntity``, 404); a shape the model
    lacks answers its own name with 400.
    """

    code = "ServiceError"
    status = 400
    sender_fault = True
    _classes: ClassVar[dict[str, type[ServiceError]]] = {}

    @classmethod
    def of(cls, shape: str, *, message: str = "", **fields: Any) -> ServiceError:
        klass = ServiceError._classes.get(shape)
        if klass is None:
            created = type(shape, (ServiceError,), {"shape": shape, "code": shape})
            klass = ServiceError._classes.setdefault(shape, created)
        return klass(message=message, **fields)


class AuthFailure(Enum):
    MISSING = "missing"
    INCOMPLETE = "incomplete"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED_REQUEST = "expired_request"
    EXPIRED_TOKEN = "expired_token"  # noqa: S105 - a failure kind, not a secret
    INVALID_TOKEN = "invalid_token"  # noqa: S105
    ACCESS_DENIED = "access_denied"


_A = AuthFailure
_AUTH_XML: dict[AuthFailure, type[AwsError]] = {
    _A.MISSING: MissingAuthenticationToken,
    _A.INCOMPLETE: IncompleteSignature,
    _A.UNKNOWN_KEY: InvalidClientTokenId,
    _A.BAD_SIGNATURE: SignatureDoesNotMatch,
    # IAM, STS and RDS answer clock skew as SignatureDoesNotMatch "Signature expired: ...".
    _A.EXPIRED_REQUEST: SignatureDoesNotMatch,
    _A.EXPIRED_TOKEN: ExpiredToken,
    _A.INVALID_TOKEN: InvalidClientTokenId,
    _A.ACCESS_DENIED: AccessDenied,
}
_AUTH_EC2 = {**_AUTH_XML, _A.EXPIRED_REQUEST: RequestExpired}
_AUTH_JSON: dict[AuthFailure, type[AwsError]] = {
    _A.MISSING: MissingAuthenticationTokenException,
    _A.INCOMPLETE: IncompleteSignatureException,
    _A.UNKNOWN_KEY: UnrecognizedClientException,
    _A.BAD_SIGNATURE: InvalidSignatureException,
    _A.EXPIRED_REQUEST: InvalidSignatureException,
    _A.EXPIRED_TOKEN: ExpiredTokenException,
    _A.INVALID_TOKEN: UnrecognizedClientException,
    _A.ACCESS_DENIED: AccessDeniedException,
}
_AUTH = {"query": _AUTH_XML, "ec2": _AUTH_EC2, "json": _AUTH_JSON, "rest-json": _AUTH_JSON}


def auth_error(protocol: str, kind: Enum | str, message: str) -> AwsError:
    """The error a service of that protocol answers for an authentication failure.

    ``kind`` is an ``AuthFailure``, its value, or any enum with the same values
    (sigv4's own ``AuthFailure``); anything else is a ValueError.
    """
    value = kind.value if isinstance(kind, Enum) else kind
    klass: type[AwsError] = _AUTH[protocol][AuthFailure(value)]
    return klass(message=message)


@dataclass(frozen=True, slots=True)
class ErrorStyle:
    """Which common error a protocol family answers for each kind of bad request."""

    unknown_operation: type[AwsError]
    missing_member: type[AwsError]
    bad_value: type[AwsError]  # a value of the wrong type or format
    malformed: type[AwsError]  # a body that cannot be decoded at all
    constraint: type[AwsError]  # a modelled constraint (min) not met
    too_large: type[AwsError]
    bad_token: type[AwsError]  # a pagination token that is not ours


_XML_STYLE = ErrorStyle(
    unknown_operation=InvalidAction,
    missing_member=MissingParameter,
    bad_value=InvalidParameterValue,
    malformed=MalformedQueryString,
    constraint=ValidationError,
    too_large=RequestEntityTooLarge,
    bad_token=InvalidParameterValue,
)
_EC2_STYLE = ErrorStyle(
    unknown_operation=InvalidAction,
    missing_member=MissingParameter,
    bad_value=InvalidParameterValue,
    malformed=MalformedQueryString,
    constraint=InvalidParameterValue,
    too_large=RequestEntityTooLarge,
    bad_token=InvalidParameterValue,
)
_JSON_STYLE = ErrorStyle(
    unknown_operation=UnknownOperationException,
    missing_member=ValidationException,
    bad_value=SerializationException,
    malformed=SerializationException,
    constraint=ValidationException,
    too_large=RequestEntityTooLargeException,
    bad_token=ValidationException,
)
_STYLES = {"query": _XML_STYLE, "ec2": _EC2_STYLE, "json": _JSON_STYLE, "rest-json": _JSON_STYLE}


def style_for(protocol: str) -> ErrorStyle:
    return _STYLES[protocol]


@dataclass(frozen=True, slots=True)
class Resolved:
    """An error as the service answers it: code, status and the modelled shape."""

    code: str
    status: int
    sender_fault: bool
    node: Node | None  # the exception shape, when the model has it
    message: str
    fields: Mapping[str, Any]  # modelled members of the exception shape, by member name


def resolve(plans: ShapePlans | None, error: AwsError) -> Resolved:
    node = plans.exception(error.shape) if plans is not None and error.shape else None
    if node is None:
        return Resolved(error.code, error.status, error.sender_fault, None, error.message, {})
    status = node.error_status or (500 if node.fault else error.status)
    sender = node.sender_fault if node.sender_fault is not None else not node.fault
    code = node.error_code or node.name
    return Resolved(code, status, sender, node, error.message, dict(error.fields))
