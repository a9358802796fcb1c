"""Secrets Manager: secrets, envelope-encrypted versions, staging labels, resource policies and
rotation configuration (``handlers.build``). Rotation runs are executed by a worker that claims
the jobs ``rotation`` enqueues; see that module for the hand-off contract."""
