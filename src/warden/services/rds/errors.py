"""RDS errors: one class per exception shape of the model (its code and status win on the
wire: ``DBInstanceNotFoundFault`` answers ``DBInstanceNotFound``, 404), plus the generic
``InvalidParameterValue``/``InvalidParameterCombination`` RDS answers for bad input.
Messages follow AWS's wording where clients and scripts match on them."""

from __future__ import annotations

from warden.core.errors import AwsError
from warden.core.errors import InvalidParameterValue as InvalidParameterValue


class _Fault(AwsError):
    status = 400
    sender_fault = True


class InvalidParameterCombination(_Fault):
    code = "InvalidParameterCombination"


class DBClusterAlreadyExistsFault(_Fault):
    shape = code = "DBClusterAlreadyExistsFault"


class DBClusterNotFoundFault(_Fault):
    shape = code = "DBClusterNotFoundFault"
    status = 404


class InvalidDBClusterStateFault(_Fault):
    shape = code = "InvalidDBClusterStateFault"


class DBInstanceAlreadyExistsFault(_Fault):
    shape = "DBInstanceAlreadyExistsFault"
    code = "DBInstanceAlreadyExists"


class DBInstanceNotFoundFault(_Fault):
    shape = "DBInstanceNotFoundFault"
    code = "DBInstanceNotFound"
    status = 404


class InvalidDBInstanceStateFault(_Fault):
    shape = "InvalidDBInstanceStateFault"
    code = "InvalidDBInstanceState"


class KMSKeyNotAccessibleFault(_Fault):
    shape = code = "KMSKeyNotAccessibleFault"


class DBClusterParameterGroupNotFoundFault(_Fault):
    shape = "DBClusterParameterGroupNotFoundFault"
    code = "DBClusterParameterGroupNotFound"
    status = 404


class DBParameterGroupNotFoundFault(_Fault):
    shape = "DBParameterGroupNotFoundFault"
    code = "DBParameterGroupNotFound"
    status = 404


class DBParameterGroupAlreadyExistsFault(_Fault):
    shape = "DBParameterGroupAlreadyExistsFault"
    code = "DBParameterGroupAlreadyExists"


class DBParameterGroupQuotaExceededFault(_Fault):
    shape = "DBParameterGroupQuotaExceededFault"
    code = "DBParameterGroupQuotaExceeded"


class InvalidDBParameterGroupStateFault(_Fault):
    shape = "InvalidDBParameterGroupStateFault"
    code = "InvalidDBParameterGroupState"


class DBSubnetGroupNotFoundFault(_Fault):
    shape = code = "DBSubnetGroupNotFoundFault"
    status = 404


class DBClusterSnapshotNotFoundFault(_Fault):
    shape = code = "DBClusterSnapshotNotFoundFault"
    status = 404


class DBClusterSnapshotAlreadyExistsFault(_Fault):
    shape = code = "DBClusterSnapshotAlreadyExistsFault"


class InvalidDBClusterSnapshotStateFault(_Fault):
    shape = code = "InvalidDBClusterSnapshotStateFault"


class SharedSnapshotQuotaExceededFault(_Fault):
    shape = "SharedSnapshotQuotaExceededFault"
    code = "SharedSnapshotQuotaExceeded"


def cluster_not_found(identifier: str) -> DBClusterNotFoundFault:
    return DBClusterNotFoundFault(message=f"DBCluster {identifier} not found.")


def snapshot_not_found(identifier: str) -> DBClusterSnapshotNotFoundFault:
    return DBClusterSnapshotNotFoundFault(message=f"DBClusterSnapshot not found: {identifier}")


def snapshot_exists(identifier: str) -> DBClusterSnapshotAlreadyExistsFault:
    return DBClusterSnapshotAlreadyExistsFault(
        message=f"Cannot create the cluster snapshot because one with the identifier "
        f"{identifier} already exists."
    )


def instance_not_found(identifier: str) -> DBInstanceNotFoundFault:
    return DBInstanceNotFoundFault(message=f"DBInstance {identifier} not found.")


def cluster_state(identifier: str, status: str) -> InvalidDBClusterStateFault:
    return InvalidDBClusterStateFault(
        message=f"DbCluster {identifier} is not in the available state (it is {status})."
    )


def instance_state(identifier: str, status: str) -> InvalidDBInstanceStateFault:
    return InvalidDBInstanceStateFault(
        message=f"Instance {identifier} is not in available state (it is {status})."
    )


def not_supported(what: str) -> InvalidParameterCombination:
    """A documented RDS feature warden does not implement yet: refused, never faked."""
    return InvalidParameterCombination(message=f"{what} is not supported by warden yet.")
