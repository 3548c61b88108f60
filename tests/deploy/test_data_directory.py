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


@pytest.mark.parametrize(
    ("database_folder", "data_dir", "named"),
    [
        ("db", "a-file/data", "a-file/data"),  # the data directory
        ("a-file/db", "data", "a-file/db"),  # the SQLite database's folder
    ],
)
def test_migrate_names_the_folder_it_cannot_write_and_exits_2(
    database_folder: str,
    data_dir: str,
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
) -> None:
    # Below a regular file nothing can be created, whoever runs the command (root included).
    (tmp_path / "a-file").write_text("")
    database = tmp_path / database_folder / "fairboard.db"
    monkeypatch.setenv("FAIRBOARD_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("FAIRBOARD_DATA_DIR", str(tmp_path / data_dir))
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 2
    expected = DIRECTORY_NOT_WRITABLE.format(path=tmp_path / named, uid=os.getuid())
    assert result.output.strip() == expected
    assert not database.exists()
