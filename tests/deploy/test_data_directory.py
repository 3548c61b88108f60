"""The commands that open the database say clearly when the data directory cannot be written.

Not marked ``deploy``: this runs in the default suite. The image's case (a volume owned by
root) is tests/deploy/test_image.py's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import DIRECTORY_NOT_WRITABLE, cli
from app.config import get_settings


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_migrate_names_the_data_directory_it_cannot_write_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    # Below a regular file nothing can be created, whoever runs the command (root included).
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("FAIRBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'fairboard.db'}")
    monkeypatch.setenv("FAIRBOARD_DATA_DIR", str(blocker / "data"))
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 2
    expected = DIRECTORY_NOT_WRITABLE.format(path=blocker / "data", uid=os.getuid())
    assert result.output.strip() == expected
    assert not (tmp_path / "fairboard.db").exists()


def test_migrate_names_the_sqlite_database_folder_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("FAIRBOARD_DATABASE_URL", f"sqlite:///{blocker / 'db' / 'fairboard.db'}")
    monkeypatch.setenv("FAIRBOARD_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 2
    expected = DIRECTORY_NOT_WRITABLE.format(path=blocker / "db", uid=os.getuid())
    assert result.output.strip() == expected
