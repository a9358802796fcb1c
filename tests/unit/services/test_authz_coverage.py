"""Every implemented operation has an authz entry, and names a real operation of the model."""

from __future__ import annotations

from pathlib import Path

import botocore.session

from warden.core.clock import SystemClock
from warden.core.ids import RandomIds
from warden.core.tokens import TokenSealer
from warden.services.cloudtrail import handlers as cloudtrail
from warden.services.iam import handlers as iam
from warden.services.sts import handlers as sts
from warden.store.db import Store
from warden.store.keyring import KeyRing


class _NoFlush:
    def flush(self) -> None:
        return None


def test_every_handler_has_an_authz_entry(tmp_path: Path) -> None:
    store = Store.sqlite_in(tmp_path)
    ring = KeyRing.create(tmp_path)
    try:
        built = [
            iam.build(store),
            sts.build(store, ring, SystemClock(), RandomIds()),
            cloudtrail.build(store, TokenSealer(b"k" * 32), _NoFlush()),
        ]
        session = botocore.session.get_session()
        for svc in built:
            model = session.get_service_model(svc.name)
            assert set(svc.handlers) == set(svc.authz), svc.name
            for op, entry in svc.authz.items():
                assert op in model.operation_names, (svc.name, op)
                prefix = "sts" if svc.name == "sts" else model.signing_name
                assert entry.action == f"{prefix}:{op}", (svc.name, op, entry.action)
    finally:
        store.close()
