"""STS errors, one class per AWS error code."""

from __future__ import annotations

from warden.core.errors import AwsError


class AccessDenied(AwsError):
    code = "AccessDenied"
    status = 403
    sender_fault = True


class ValidationError(AwsError):
    code = "ValidationError"
    status = 400
    sender_fault = True


class MalformedPolicyDocument(AwsError):
    shape = "MalformedPolicyDocumentException"
    code = "MalformedPolicyDocument"
    status = 400
    sender_fault = True


class PackedPolicyTooLarge(AwsError):
    shape = "PackedPolicyTooLargeException"
    code = "PackedPolicyTooLarge"
    status = 400
    sender_fault = True


class InvalidParameterValue(AwsError):
    code = "InvalidParameterValue"
    status = 400
    sender_fault = True
