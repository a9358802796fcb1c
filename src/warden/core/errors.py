"""The one base class for every error that reaches a client as an AWS error.

Services subclass it once per AWS error code (keyword-only construction). The
protocol layer turns an instance into the wire format of the service being
called: when the service model defines an exception shape named ``shape``, its
modelled code and HTTP status win; otherwise ``code`` and ``status`` below are
used (the common errors every AWS service answers, such as ``AccessDenied``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class AwsError(Exception):
    """An error answered to the client in the AWS wire format.

    ``shape``: the exception shape name in the service model (``NoSuchEntityException``);
    ``code``: the wire code when the model has no such shape; ``status``: its HTTP status;
    ``sender_fault``: whether the client caused it (query protocol ``<Type>``).
    ``fields`` holds extra modelled members of the exception shape.
    """

    shape: ClassVar[str] = ""
    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 500
    sender_fault: ClassVar[bool] = False

    def __init__(self, *, message: str = "", **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.wire_name!r}, message={self.message!r})"

    @property
    def wire_name(self) -> str:
        return self.shape or self.code


class InternalFailure(AwsError):
    code = "InternalFailure"
    status = 500
    sender_fault = False


class ValidationError(AwsError):
    code = "ValidationError"
    status = 400
    sender_fault = True


class InvalidParameterValue(AwsError):
    code = "InvalidParameterValue"
    status = 400
    sender_fault = True


class MissingParameter(AwsError):
    code = "MissingParameter"
    status = 400
    sender_fault = True
