"""EC2 errors. The ec2 model defines no exception shapes, so each class carries the dotted
code EC2 answers (``InvalidGroup.NotFound``) and its status; messages follow AWS's."""

from __future__ import annotations

from warden.core.errors import AwsError
from warden.core.errors import InvalidParameterValue as InvalidParameterValue
from warden.core.errors import MissingParameter as MissingParameter


class _ClientError(AwsError):
    status = 400
    sender_fault = True


class InvalidGroupNotFound(_ClientError):
    code = "InvalidGroup.NotFound"


class InvalidGroupDuplicate(_ClientError):
    code = "InvalidGroup.Duplicate"


class InvalidGroupIdMalformed(_ClientError):
    code = "InvalidGroupId.Malformed"


class InvalidPermissionDuplicate(_ClientError):
    code = "InvalidPermission.Duplicate"


class InvalidPermissionNotFound(_ClientError):
    code = "InvalidPermission.NotFound"


class InvalidPermissionMalformed(_ClientError):
    code = "InvalidPermission.Malformed"


class InvalidSecurityGroupRuleIdNotFound(_ClientError):
    code = "InvalidSecurityGroupRuleId.NotFound"


class InvalidVpcIdNotFound(_ClientError):
    code = "InvalidVpcID.NotFound"


class DependencyViolation(_ClientError):
    code = "DependencyViolation"


class CannotDelete(_ClientError):
    code = "CannotDelete"


class InvalidParameterCombination(_ClientError):
    code = "InvalidParameterCombination"


class DryRunOperation(AwsError):
    code = "DryRunOperation"
    status = 412
    sender_fault = True


def group_not_found(group: str, vpc_id: str | None = None) -> InvalidGroupNotFound:
    where = f" in default VPC '{vpc_id}'" if vpc_id else ""
    return InvalidGroupNotFound(message=f"The security group '{group}' does not exist{where}")


def dry_run() -> DryRunOperation:
    return DryRunOperation(message="Request would have succeeded, but DryRun flag is set.")
