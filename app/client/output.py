"""How the client prints: rich tables for people, JSON for scripts, progress only on a TTY."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

SCORE_NAMES = ("mae", "age_bias", "gender_bias", "ethnicity_bias", "expression_bias")


def stdout() -> Console:
    return Console(soft_wrap=True, highlight=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def print_json(value: Any) -> None:
    """Machine-readable output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(cell_text(cell) for cell in row))
    stdout().print(table)


def cell_text(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def scores_text(scores: dict[str, Any] | None) -> str:
    if not scores:
        return "n/a"
    return "  ".join(f"{name}={cell_text(scores.get(name))}" for name in SCORE_NAMES)


class Bar:
    """A progress bar on stderr when it is a terminal; nothing at all when piped."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, amount)

    def update(self, completed: int, total: int | None, description: str | None = None) -> None:
        if self._progress is not None and self._task is not None:
            fields: dict[str, Any] = {"completed": completed, "total": total}
            if description is not None:
                fields["description"] = description
            self._progress.update(self._task, **fields)


@contextmanager
def progress_bar(description: str, total: int | None, *, transfer: bool = True) -> Iterator[Bar]:
    console = stderr()
    if not console.is_terminal:
        yield Bar(None, None)
        return
    columns = (DownloadColumn(), TransferSpeedColumn()) if transfer else (MofNCompleteColumn(),)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        *columns,
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        yield Bar(progress, progress.add_task(description, total=total))
