"""Each Insight test in a cache namespace of its own: the Reports page's cached tables never cross tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_cache(fresh_cache: None) -> None:
    pass
