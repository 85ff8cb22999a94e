"""Each package's ``__all__`` lists exactly its public names (as httpx checks its own)."""

from __future__ import annotations

import importlib
import types

import pytest


@pytest.mark.parametrize("name", ["engine", "shared"])
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_") and not isinstance(value, types.ModuleType) and attr != "annotations"
    }
    assert set(module.__all__) == public
