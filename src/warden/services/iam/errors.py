"""IAM errors, one class per AWS error code (shapes of the IAM model)."""

from __future__ import annotations

from warden.core.errors import AwsError


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
