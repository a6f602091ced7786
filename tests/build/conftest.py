"""One `sam build` for every build test that reads its output (it takes a minute or more)."""

from __future__ import annotations

import pytest

from tests.build.sam_builds import Build, sam_build


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return sam_build(tmp_path_factory.mktemp("sam-build"))
