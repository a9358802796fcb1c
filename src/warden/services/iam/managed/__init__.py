"""Package data: one JSON file per AWS managed policy, read by ``managed_policies``.

Each ``<PolicyName>.json`` holds the policy's metadata as ``GetPolicy`` reports it and the
document of its default version, exactly as AWS publishes it, with ``Source`` naming where it
came from. The files are data, not code; this module exists so ``importlib.resources`` can
find them.
"""
