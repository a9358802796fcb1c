"""engines: the only code that talks to database servers.

``base`` defines the boundary (``Engine``, ``Accounts`` and their values), ``errors`` what
can go wrong at it, ``postgres`` the real implementation and ``fake`` an in-memory one for
control-plane tests. Services depend on ``base``; only wiring code picks an implementation.
"""
