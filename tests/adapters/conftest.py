"""Fixtures for the adapter tests."""

from __future__ import annotations

import pytest

from mlpinspect.adapters import AdapterRegistry, _registry, builtin_adapters


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> AdapterRegistry:
    """A fresh registry of the built-in adapters, used by adapt() for one test.

    Entry points are not read yet, and registrations do not leak into other
    tests.
    """
    fresh = AdapterRegistry(builtin_adapters())
    monkeypatch.setattr(_registry, "_REGISTRY", fresh)
    return fresh
