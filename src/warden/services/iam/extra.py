"""IAM operations beyond the core entities: virtual MFA devices, the credential report,
and the policy simulator; their handlers and authz entries (Service Authorization
Reference), merged by ``handlers.build`` through ``build_extra``.

Resource ARNs follow ``authz.py``'s convention: a user named in the request is
``arn:aws:iam::ACCOUNT:user/NAME`` (path ``/``), a call that may omit ``UserName``
acts on the caller; MFA devices are their serial number; the simulator's principal
calls name ``PolicySourceArn``. Resource functions never raise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from warden.core.arn import iam_arn
from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.services.context import AuthzEntry, Handler, ResourceFn, Scope
from warden.store.db import Store
from warden.store.keyring import KeyRing

from .credential_report import CredentialReports
from .mfa import MfaDevices
from .simulate import Simulator


def _user(*, default_caller: bool) -> ResourceFn:
    def resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        name = params.get("UserName")
        if not isinstance(name, str) or not name:
            return (scope.principal_arn,) if default_caller else ("*",)
        return (iam_arn(scope.account_id, "user", name),)

    return resources


def _new_mfa(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
    name = str(params.get("VirtualMFADeviceName", ""))
    path = params.get("Path")
    path = path if isinstance(path, str) and path.startswith("/") else "/"
    return (iam_arn(scope.account_id, "mfa", name, path),)


def _member(name: str) -> ResourceFn:
    def resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        value = params.get(name)
        return (value,) if isinstance(value, str) and value else ("*",)

    return resources


AUTHZ: dict[str, AuthzEntry] = {
    "CreateVirtualMFADevice": AuthzEntry("iam:CreateVirtualMFADevice", _new_mfa),
    "EnableMFADevice": AuthzEntry("iam:EnableMFADevice", _user(default_caller=False)),
    "ResyncMFADevice": AuthzEntry("iam:ResyncMFADevice", _user(default_caller=False)),
    "DeactivateMFADevice": AuthzEntry("iam:DeactivateMFADevice", _user(default_caller=True)),
    "DeleteVirtualMFADevice": AuthzEntry("iam:DeleteVirtualMFADevice", _member("SerialNumber")),
    "ListMFADevices": AuthzEntry("iam:ListMFADevices", _user(default_caller=True), read_only=True),
    "ListVirtualMFADevices": AuthzEntry("iam:ListVirtualMFADevices", read_only=True),
    "GenerateCredentialReport": AuthzEntry("iam:GenerateCredentialReport"),
    "GetCredentialReport": AuthzEntry("iam:GetCredentialReport", read_only=True),
    "SimulatePrincipalPolicy": AuthzEntry(
        "iam:SimulatePrincipalPolicy", _member("PolicySourceArn"), read_only=True
    ),
    "SimulateCustomPolicy": AuthzEntry("iam:SimulateCustomPolicy", read_only=True),
    "GetContextKeysForPrincipalPolicy": AuthzEntry(
        "iam:GetContextKeysForPrincipalPolicy", _member("PolicySourceArn"), read_only=True
    ),
    "GetContextKeysForCustomPolicy": AuthzEntry(
        "iam:GetContextKeysForCustomPolicy", read_only=True
    ),
}


def build_extra(
    store: Store, ring: KeyRing, clock: Clock, ids: IdFactory
) -> tuple[dict[str, Handler], dict[str, AuthzEntry]]:
    """The handlers and authz entries to merge into IAM's. Handlers take the time from
    ``CallContext.now``; ``clock`` is accepted for symmetry with the other builders."""
    mfa = MfaDevices(store, ring, ids)
    reports = CredentialReports(store)
    simulator = Simulator(store)
    handlers: dict[str, Handler] = {
        "CreateVirtualMFADevice": mfa.create_virtual_mfa_device,
        "EnableMFADevice": mfa.enable_mfa_device,
        "ResyncMFADevice": mfa.resync_mfa_device,
        "DeactivateMFADevice": mfa.deactivate_mfa_device,
        "DeleteVirtualMFADevice": mfa.delete_virtual_mfa_device,
        "ListMFADevices": mfa.list_mfa_devices,
        "ListVirtualMFADevices": mfa.list_virtual_mfa_devices,
        "GenerateCredentialReport": reports.generate_credential_report,
        "GetCredentialReport": reports.get_credential_report,
        "SimulatePrincipalPolicy": simulator.simulate_principal_policy,
        "SimulateCustomPolicy": simulator.simulate_custom_policy,
        "GetContextKeysForPrincipalPolicy": simulator.get_context_keys_for_principal_policy,
        "GetContextKeysForCustomPolicy": simulator.get_context_keys_for_custom_policy,
    }
    return handlers, dict(AUTHZ)
