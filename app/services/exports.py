"""Exports: leaderboards as CSV, Markdown and LaTeX (best value of each column in bold), and
every submission's scores with their per-group MAEs as CSV."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Participation, Phase, Split, Submission, SubmissionScore, Team, User
from app.services import csv_cells
from app.services.leaderboard import COLUMN_LABELS, COLUMN_ORDER, Leaderboard, LeaderboardRow
from app.services.stored_scores import read_report, read_scores
from scoring.groups import ATTRIBUTES, SCORE_NAMES
from scoring.ranking import DEFAULT_TOLERANCE

TABLE_HEADER: tuple[str, ...] = (
    "#",
    "Participant",
    "Entries",
    "Date of last entry",
    "Ranking",
    *(COLUMN_LABELS[name] for name in COLUMN_ORDER),
)
SPLIT_ORDER = (Split.PUBLIC, Split.PRIVATE)
SYNTHETIC_NOTE = "Scores on a synthetic test set (generated patterns, not faces)."


def _csv_cell(field: str, value: object) -> object:
    if value is None:
        return ""
    if field.endswith("_rank") and isinstance(value, float):
        return f"{value:g}"
    return value


def leaderboard_csv(board: Leaderboard) -> str:
    """The leaderboard as CSV: position, participant, entries, date, ranking, then each
    column's score and rank in SPEC §6 order (scores unrounded)."""
    out = io.StringIO()
    fields = ["position", "participant", "entries", "last_entry_at", "ranking"]
    for name in COLUMN_ORDER:
        fields += [name, f"{name}_rank"]
    fields.append("note")
    writer = csv_cells.DictWriter(
        out, fieldnames=fields, extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in board.rows:
        writer.writerow({k: _csv_cell(k, v) for k, v in row.to_dict().items()})
    return out.getvalue()


def is_best(value: float | None, best: float | None) -> bool:
    return value is not None and best is not None and value - best <= DEFAULT_TOLERANCE


def _ranking(value: float) -> str:
    return f"{round(value, 3):g}"


def _table_cells(
    board: Leaderboard,
    row: LeaderboardRow,
    escape: Callable[[str], str],
    bold: Callable[[str], str],
) -> list[str]:
    best_ranking = min((r.ranking for r in board.rows), default=None)
    ranking = _ranking(row.ranking)
    cells = [
        str(row.position),
        escape(row.participant),
        str(row.entries),
        row.last_entry_at.strftime("%Y-%m-%d %H:%M"),
        bold(ranking) if is_best(row.ranking, best_ranking) else ranking,
    ]
    for name in COLUMN_ORDER:
        value = row.scores[name]
        text = "n/a" if value is None else f"{value:.6f}"
        if is_best(value, board.best.get(name)):
            text = bold(text)
        cells.append(f"{text} ({row.ranks[name]:g})")
    return cells


_MARKDOWN_SPECIAL = "\\`*_[]<>|#"


def one_line(text: str) -> str:
    """``text`` on one line: a table cell of Markdown or LaTeX ends at any line break, a
    carriage return or a Unicode line separator included."""
    return " ".join(text.splitlines())


def markdown_escape(text: str) -> str:
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in one_line(text))


def leaderboard_markdown(board: Leaderboard, *, title: str, synthetic: bool = False) -> str:
    """The leaderboard as a Markdown table; each value is followed by its rank in parentheses
    and the best value of each column (and the best Ranking) is in bold."""
    lines = [f"**{markdown_escape(title)}**", ""]
    lines.append("| " + " | ".join(TABLE_HEADER) + " |")
    lines.append("|" + "|".join(("---:", "---", "---:", "---", *("---:",) * 6)) + "|")
    for row in board.rows:
        cells = _table_cells(board, row, markdown_escape, lambda text: f"**{text}**")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Every score is lower-is-better; ranks in parentheses.")
    if synthetic:
        lines.append(SYNTHETIC_NOTE)
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(c, c) for c in one_line(text))


def leaderboard_latex(board: Leaderboard, *, title: str, synthetic: bool = False) -> str:
    """The leaderboard as a LaTeX ``table`` (no packages needed), best values in bold."""
    caption = latex_escape(title) + (" " + latex_escape(SYNTHETIC_NOTE) if synthetic else "")
    header = " & ".join(latex_escape(h) for h in TABLE_HEADER) + r" \\"
    lines = [
        r"\begin{table}[ht]",
        r"\centering",
        r"\caption{" + caption + "}",
        r"\begin{tabular}{rlrlrrrrrr}",
        r"\hline",
        header,
        r"\hline",
    ]
    for row in board.rows:
        cells = _table_cells(board, row, latex_escape, lambda text: r"\textbf{" + text + "}")
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def leaderboard_export(board: Leaderboard, phase: Phase, fmt: str) -> str:
    """The leaderboard in one of the export formats: ``csv``, ``md`` or ``tex``."""
    if fmt == "csv":
        return leaderboard_csv(board)
    synthetic = phase.testset is not None and phase.testset.is_synthetic
    title = f"{phase.competition.title} - {phase.name} ({board.split.value} leaderboard)"
    render = leaderboard_markdown if fmt == "md" else leaderboard_latex
    return render(board, title=title, synthetic=synthetic)


def _group_fields() -> list[str]:
    fields: list[str] = []
    for attribute in ATTRIBUTES:
        for group in attribute.groups:
            fields += [f"{attribute.name}:{group}:mae", f"{attribute.name}:{group}:n"]
    return fields


SUBMISSION_FIELDS: tuple[str, ...] = (
    "submission_id",
    "participant",
    "team",
    "kind",
    "status",
    "created_at",
    "is_baseline",
    "is_hidden",
    "disqualified",
    "testset_fingerprint",
    "scorer_version",
    "split",
    "n_items",
    *SCORE_NAMES,
    *_group_fields(),
    "note",
)


def _blank_none(value: object) -> object:
    return "" if value is None else value


def _score_cells(score_row: SubmissionScore) -> dict[str, Any]:
    """The split's scores, per-group MAEs and sizes, or blanks and the note saying why not."""
    read = read_report(score_row.report)
    columns = read_scores({name: getattr(score_row, name) for name in SCORE_NAMES})
    if read.report is None or not columns.readable:
        return {"split": score_row.split.value, "note": read.note or columns.note}
    cells: dict[str, Any] = {"split": score_row.split.value, "n_items": read.report.n_items}
    cells |= {name: _blank_none(value) for name, value in columns.scores.items()}
    for attribute in read.report.attributes:
        for group in attribute.groups:
            key = f"{attribute.attribute}:{group.group}"
            cells[f"{key}:mae"] = _blank_none(group.mae)
            cells[f"{key}:n"] = group.size
    return cells


def submissions_csv(session: Session, phase: Phase) -> str:
    """Every submission of a phase, one row per scored split (one row when unscored), with the
    five scores and every group's MAE and size; for organizers."""
    disqualified = set(
        session.scalars(
            select(Participation.user_id).where(
                Participation.competition_id == phase.competition_id,
                Participation.disqualified_at.is_not(None),
            )
        )
    )
    found = session.execute(
        select(Submission, User.username, Team.name)
        .join(User, User.id == Submission.user_id)
        .outerjoin(Team, Team.id == Submission.team_id)
        .where(Submission.phase_id == phase.id)
        .order_by(Submission.created_at, Submission.id)
    ).all()
    scores: dict[int, list[SubmissionScore]] = {}
    if found:
        for score_row in session.scalars(
            select(SubmissionScore).where(
                SubmissionScore.submission_id.in_([s.id for s, *_ in found])
            )
        ):
            scores.setdefault(score_row.submission_id, []).append(score_row)
        for rows in scores.values():
            rows.sort(key=lambda row: SPLIT_ORDER.index(row.split))
    out = io.StringIO()
    writer = csv_cells.DictWriter(
        out, fieldnames=list(SUBMISSION_FIELDS), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for submission, username, team_name in found:
        base = {
            "submission_id": submission.id,
            "participant": username,
            "team": team_name or "",
            "kind": submission.kind.value,
            "status": submission.status.value,
            "created_at": submission.created_at.isoformat(),
            "is_baseline": int(submission.is_baseline),
            "is_hidden": int(submission.is_hidden),
            "disqualified": int(submission.user_id in disqualified),
            "testset_fingerprint": submission.testset_fingerprint or "",
            "scorer_version": submission.scorer_version or "",
        }
        rows = scores.get(submission.id, []) if submission.status.value == "finished" else []
        if not rows:
            writer.writerow(base)
        for score_row in rows:
            # extrasaction: a stored report may name groups that are not SPEC §2's
            writer.writerow(base | _score_cells(score_row))
    return out.getvalue()
