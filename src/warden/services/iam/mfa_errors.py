"""IAM errors of the MFA, credential-report and simulation operations that the shared
``errors`` module does not define (one class per AWS error code, IAM model shapes)."""

from __future__ import annotations

from warden.core.errors import AwsError


class InvalidAuthenticationCode(AwsError):
    shape = "InvalidAuthenticationCodeException"
    code = "InvalidAuthenticationCode"
    status = 403
    sender_fault = True


class ConcurrentModification(AwsError):
    shape = "ConcurrentModificationException"
    code = "ConcurrentModification"
    status = 409
    sender_fault = True


class ReportNotPresent(AwsError):
    shape = "CredentialReportNotPresentException"
    code = "ReportNotPresent"
    status = 410
    sender_fault = True


class ReportExpired(AwsError):
    shape = "CredentialReportExpiredException"
    code = "ReportExpired"
    status = 410
    sender_fault = True


class ReportInProgress(AwsError):
    shape = "CredentialReportNotReadyException"
    code = "ReportInProgress"
    status = 404
    sender_fault = True


class PolicyEvaluation(AwsError):
    shape = "PolicyEvaluationException"
    code = "PolicyEvaluation"
    status = 500
    sender_fault = False
