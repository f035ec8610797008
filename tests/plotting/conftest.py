"""Every plotting test runs with ``plt.show`` booby-trapped, and checks that no
pyplot figure was opened and no rcParams changed behind its back."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest


@pytest.fixture(autouse=True)
def _headless_guard(monkeypatch: pytest.MonkeyPatch):
    def show(*args, **kwargs):
        raise AssertionError("a plotting function called plt.show()")

    monkeypatch.setattr(plt, "show", show)
    before_figs = plt.get_fignums()
    before_rc = dict(matplotlib.rcParams)
    yield
    assert plt.get_fignums() == before_figs, "a pyplot figure was left open"
    after_rc = dict(matplotlib.rcParams)
    changed = {k for k in before_rc if before_rc[k] != after_rc.get(k)}
    assert not changed, f"rcParams changed: {sorted(changed)}"
