"""KAA_HOME is one directory by its real path, however a checkout links to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.infra.settings import kaa_home


def test_a_linked_home_is_the_directory_it_links_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    monkeypatch.setenv("KAA_HOME", str(tmp_path / "link"))
    assert kaa_home() == real.resolve()
