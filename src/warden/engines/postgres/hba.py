"""``pg_hba.conf`` rendered from security-group ingress rules.

Order is the security property (PostgreSQL uses the first matching line):

1. ``warden_admin`` on the instance's Unix socket, then ``reject`` for every other role
   there. The socket sits in a 0700 directory of the service user's: only that OS user's
   processes (warden, and every PostgreSQL server it runs, whose backends could try
   another instance's socket) and root reach it, and there warden_admin's random SCRAM
   password, never shown to anyone, still stands in the way;
2. ``warden_admin`` over TLS from 127.0.0.1 only (for a root whose path cannot hold a
   socket), then ``reject`` for it from anywhere else — so no ingress rule can ever admit
   warden's own superuser. Each in normal and replication form (snapshots replicate);
3. one line per ingress CIDR: ``hostssl`` when ``rds.force_ssl`` is on (a client without
   TLS finds no line and PostgreSQL answers "no pg_hba.conf entry … no encryption"),
   ``host`` otherwise (TLS and plain both accepted);
4. nothing else: an address outside every CIDR matches no line and is refused.

Only ``scram-sha-256`` authenticates.
"""

from __future__ import annotations

import ipaddress

from ..base import ADMIN_ROLE, LOOPBACK, AccessRules

_ADMIN_SOURCES = (f"{LOOPBACK}/32",)


def _net(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr, strict=False))


def render(access: AccessRules, force_ssl: bool) -> str:
    admin = ADMIN_ROLE
    lines = [
        "# Written by warden from the instance's security groups; edits are overwritten.",
        "# TYPE   DATABASE     USER          ADDRESS            METHOD",
        f"local    all          {admin}                     scram-sha-256",
        f"local    replication  {admin}                     scram-sha-256",
        "local    all          all                              reject",
        "local    replication  all                              reject",
    ]
    for source in _ADMIN_SOURCES:
        lines.append(f"hostssl  all          {admin}  {source:<18} scram-sha-256")
        lines.append(f"hostssl  replication  {admin}  {source:<18} scram-sha-256")
    lines.append(f"host     all          {admin}  0.0.0.0/0          reject")
    lines.append(f"host     all          {admin}  ::/0               reject")
    lines.append(f"host     replication  {admin}  0.0.0.0/0          reject")
    lines.append(f"host     replication  {admin}  ::/0               reject")
    kind = "hostssl" if force_ssl else "host"
    for cidr in access.ingress:
        lines.append(f"{kind:<8} all          all           {_net(cidr):<18} scram-sha-256")
    return "\n".join(lines) + "\n"
