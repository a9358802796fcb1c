"""KMS: symmetric keys, aliases, key policies, rotation, and envelope encryption for the
other services (``handlers.Kms``; ``datakeys.KmsDataKeys`` implements ``ports.DataKeys``)."""
