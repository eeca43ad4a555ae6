"""Keep every test of one architecture on one pytest worker (`make test-containers` runs
with `--dist loadgroup`): they share the module-scoped model it trains."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "trained" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(str(callspec.params["trained"])))
