"""Fixtures for the protocol tests: the served models, loaded once, and a strict Wire."""

from __future__ import annotations

import pytest

from warden.protocol.dispatch import Wire
from warden.protocol.specs import Registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.load()


@pytest.fixture(scope="session")
def wire(registry: Registry) -> Wire:
    return Wire(registry, pagination_key=b"k" * 32, strict=True)
