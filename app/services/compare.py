"""Compare: one table of chosen submissions across the phases of a competition, the best value
of each score marked and the difference to a reference row, as JSON, CSV, Markdown or LaTeX.

A participant compares their own and their team's submissions and the organizers' visible
baselines; an organizer, any submission of their competition. Private-split scores appear
only where the submission's page would show them (organizers, or after the reveal).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import DB_ID_MAX
from app.errors import InvalidInput, NotFound
from app.models import Phase, Split, Submission, SubmissionScore, SubmissionStatus, Team, User
from app.services import competitions, csv_cells, submissions
from app.services.exports import is_best, latex_escape, markdown_escape
from app.services.leaderboard import COLUMN_LABELS, COLUMN_ORDER
from app.services.stored_scores import read_report, read_scores
from app.services.submission_metadata import stored_metadata
from scoring.groups import ATTRIBUTES, SCORE_NAMES

MAX_COMPARED = 20
COMPARE_NONE = "name the submissions to compare: submissions=ID,ID,..."
COMPARE_BAD_ID = (
    "submissions: {raw!r} is not a submission id (ids are whole numbers from 1 to 2**31-1)"
)
COMPARE_TOO_MANY = "compare at most 20 submissions at once (got {count})"
COMPARE_MIXED = (
    "compare submissions of one competition: submission {id} belongs to another competition"
)
COMPARE_NOT_FINISHED = (
    "submission {id} is {status}; only finished submissions have scores to compare"
)
REFERENCE_NOT_COMPARED = "the reference submission {id} is not one of the compared submissions"
GROUP_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (attribute.name, group) for attribute in ATTRIBUTES for group in attribute.groups
)


def parse_ids(raw: str) -> list[int]:
    """The ``submissions`` query parameter: comma-separated ids, each once, in the given order."""
    ids: list[int] = []
    for part in (raw or "").split(","):
        text = part.strip()
        if not text:
            continue
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= DB_ID_MAX:
            raise InvalidInput(COMPARE_BAD_ID.format(raw=text[:40]), field="submissions")
        if int(text) not in ids:
            ids.append(int(text))
    if not ids:
        raise InvalidInput(COMPARE_NONE, field="submissions")
    if len(ids) > MAX_COMPARED:
        raise InvalidInput(COMPARE_TOO_MANY.format(count=len(ids)), field="submissions")
    return ids


@dataclass(frozen=True)
class CompareRow:
    submission_id: int
    phase_id: int
    phase: str
    participant: str
    description: str
    metadata: dict[str, str]
    is_baseline: bool
    scores: dict[str, float | None]
    groups: dict[str, dict[str, float | None]]
    private_scores: dict[str, float | None] | None
    difference: dict[str, float | None] | None
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Comparison:
    competition_id: int
    rows: list[CompareRow]
    best: dict[str, int | None]
    reference_id: int | None

    @property
    def metadata_keys(self) -> list[str]:
        """Every metadata key of the rows, in order of first appearance."""
        return list(dict.fromkeys(key for row in self.rows for key in row.metadata))

    def marks_best(self, row: CompareRow, name: str) -> bool:
        """The row's score equals the column's best (ties all marked, as in the files)."""
        return is_best(row.scores[name], _best_value(self, name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "competition_id": self.competition_id,
            "reference": self.reference_id,
            "rows": [row.to_dict() for row in self.rows],
            "best": self.best,
        }


def _may_compare(session: Session, submission: Submission, phase: Phase, viewer: User) -> bool:
    """Organizers compare anything of theirs; others their own, their team's and baselines."""
    if competitions.is_organizer(session, phase.competition_id, viewer):
        return True
    if submissions.is_competitor(session, submission, viewer):
        return True
    # A baseline is on the public leaderboard for everyone to compare against.
    return submission.is_baseline and not submission.is_hidden and phase.leaderboard_public


def compare(
    session: Session,
    viewer: User,
    submission_ids: list[int],
    *,
    reference: int | None = None,
    now: datetime,
) -> Comparison:
    """The comparison table of the given submissions, in the given order."""
    if reference is not None and reference not in submission_ids:
        raise InvalidInput(REFERENCE_NOT_COMPARED.format(id=reference), field="reference")
    found = {
        s.id: s
        for s in session.scalars(select(Submission).where(Submission.id.in_(submission_ids)))
    }
    scores: dict[tuple[int, Split], SubmissionScore] = {
        (row.submission_id, row.split): row
        for row in session.scalars(
            select(SubmissionScore).where(SubmissionScore.submission_id.in_(submission_ids))
        )
    }
    competition_id: int | None = None
    rows = []
    for submission_id in submission_ids:
        submission = found.get(submission_id)
        phase = competitions.get_phase(session, submission.phase_id) if submission else None
        if (
            submission is None
            or phase is None
            or not _may_compare(session, submission, phase, viewer)
        ):
            raise NotFound(submissions.NOT_YOUR_SUBMISSION.format(id=submission_id))
        if competition_id is None:
            competition_id = phase.competition_id
        elif phase.competition_id != competition_id:
            raise InvalidInput(COMPARE_MIXED.format(id=submission_id), field="submissions")
        if submission.status is not SubmissionStatus.FINISHED:
            raise InvalidInput(
                COMPARE_NOT_FINISHED.format(id=submission_id, status=submission.status.value),
                field="submissions",
            )
        organizer = competitions.is_organizer(session, phase.competition_id, viewer)
        show_private = organizer or phase.private_is_revealed(now)
        rows.append(
            _row(
                session,
                submission,
                phase,
                scores.get((submission_id, Split.PUBLIC)),
                scores.get((submission_id, Split.PRIVATE)) if show_private else None,
            )
        )
    rows = _with_differences(rows, reference)
    best = {
        name: min(
            (row for row in rows if row.scores[name] is not None),
            key=lambda row, name=name: row.scores[name],  # type: ignore[misc]
            default=None,
        )
        for name in SCORE_NAMES
    }
    return Comparison(
        competition_id=competition_id or 0,
        rows=rows,
        best={name: row.submission_id if row else None for name, row in best.items()},
        reference_id=reference,
    )


def _participant(session: Session, submission: Submission) -> str:
    team = session.get(Team, submission.team_id) if submission.team_id is not None else None
    user = session.get(User, submission.user_id)
    return participant_name(submission, team.name if team else None, user.username if user else "")


def participant_name(submission: Submission, team_name: str | None, username: str) -> str:
    """Who a row of a comparison is: the team, the participant, or the organizers' baseline."""
    if team_name is not None:
        return team_name
    return f"Baseline: {submission.description or username}" if submission.is_baseline else username


def _read(stored: SubmissionScore | None) -> tuple[dict[str, float | None], Any, str | None]:
    """The split's five scores (None where unreadable), its report, and why it is unreadable."""
    if stored is None:
        return dict.fromkeys(SCORE_NAMES), None, None
    columns = read_scores({name: getattr(stored, name) for name in SCORE_NAMES})
    report = read_report(stored.report)
    return columns.scores, report.report, columns.note or report.note


def _row(
    session: Session,
    submission: Submission,
    phase: Phase,
    public: SubmissionScore | None,
    private: SubmissionScore | None,
) -> CompareRow:
    scores, report, note = _read(public)
    groups: dict[str, dict[str, float | None]] = {}
    if report is not None:
        groups = {a.attribute: {g.group: g.mae for g in a.groups} for a in report.attributes}
    return CompareRow(
        submission_id=submission.id,
        phase_id=phase.id,
        phase=phase.name,
        participant=_participant(session, submission),
        description=submission.description,
        metadata=stored_metadata(submission.meta),
        is_baseline=submission.is_baseline,
        scores=scores,
        groups=groups,
        private_scores=_read(private)[0] if private is not None else None,
        difference=None,
        note=note,
    )


def _with_differences(rows: list[CompareRow], reference: int | None) -> list[CompareRow]:
    """Each row's scores minus the reference row's (None where either is undefined)."""
    base = next((row for row in rows if row.submission_id == reference), None)
    if base is None:
        return rows
    return [
        CompareRow(
            **(
                row.__dict__
                | {
                    "difference": {
                        name: None
                        if (value := row.scores[name]) is None or base.scores[name] is None
                        else value - base.scores[name]  # type: ignore[operator]
                        for name in SCORE_NAMES
                    }
                }
            )
        )
        for row in rows
    ]


# --- Files ----------------------------------------------------------------------------------


def _group_label(attribute: str, group: str) -> str:
    return f"MAE {attribute} {group}"


def _header(table: Comparison, *, groups: bool) -> list[str]:
    head = ["Submission", "Phase", "Participant", "Description", *table.metadata_keys]
    head += [COLUMN_LABELS[name] for name in COLUMN_ORDER]
    if groups:
        head += [_group_label(a, g) for a, g in GROUP_COLUMNS]
    return head


def compare_csv(table: Comparison, *, groups: bool = False) -> str:
    """The table as CSV: scores unrounded, a ``<score> diff`` column each with a reference."""
    out = io.StringIO()
    writer = csv_cells.Writer(out)
    head = _header(table, groups=False)
    diffs = [f"{COLUMN_LABELS[name]} diff" for name in COLUMN_ORDER] if table.reference_id else []
    group_head = [_group_label(a, g) for a, g in GROUP_COLUMNS] if groups else []
    writer.writerow([*head, *diffs, *group_head, "Note"])
    for row in table.rows:
        cells: list[Any] = [f"#{row.submission_id}", row.phase, row.participant, row.description]
        cells += [row.metadata.get(key, "") for key in table.metadata_keys]
        cells += [_blank(row.scores[name]) for name in COLUMN_ORDER]
        if table.reference_id:
            cells += [_blank((row.difference or {}).get(name)) for name in COLUMN_ORDER]
        if groups:
            cells += [_blank(row.groups.get(a, {}).get(g)) for a, g in GROUP_COLUMNS]
        writer.writerow([*cells, row.note or ""])
    return out.getvalue()


def _blank(value: float | None) -> object:
    return "" if value is None else value


def _cells(
    table: Comparison,
    row: CompareRow,
    escape: Callable[[str], str],
    bold: Callable[[str], str],
    *,
    groups: bool,
) -> list[str]:
    cells = [escape(f"#{row.submission_id}"), escape(row.phase), escape(row.participant)]
    cells.append(escape(row.description))
    cells += [escape(row.metadata.get(key, "")) for key in table.metadata_keys]
    for name in COLUMN_ORDER:
        value = row.scores[name]
        text = "n/a" if value is None else f"{value:.3f}"
        if table.marks_best(row, name):
            text = bold(text)
        difference = (row.difference or {}).get(name)
        if row.difference is not None and row.submission_id != table.reference_id:
            text += " (n/a)" if difference is None else f" ({difference:+.3f})"
        cells.append(text)
    if groups:
        for attribute, group in GROUP_COLUMNS:
            mae = row.groups.get(attribute, {}).get(group)
            cells.append("n/a" if mae is None else f"{mae:.3f}")
    return cells


def _best_value(table: Comparison, name: str) -> float | None:
    best_id = table.best.get(name)
    return next((r.scores[name] for r in table.rows if r.submission_id == best_id), None)


def _legend(table: Comparison) -> str:
    legend = "Every score is lower-is-better; the best of each column is in bold."
    if table.reference_id:
        legend += f" In parentheses: the difference to submission #{table.reference_id}."
    return legend


def compare_markdown(table: Comparison, *, title: str, groups: bool = False) -> str:
    """The table in Markdown, best values in bold."""
    head = _header(table, groups=groups)
    lines = [f"**{markdown_escape(title)}**", ""]
    lines.append("| " + " | ".join(markdown_escape(h) for h in head) + " |")
    numeric = _numeric(groups)
    lines.append("|" + "|".join(["---"] * (len(head) - numeric) + ["---:"] * numeric) + "|")
    for row in table.rows:
        cells = _cells(table, row, markdown_escape, lambda text: f"**{text}**", groups=groups)
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", _legend(table)]
    return "\n".join(lines) + "\n"


def _numeric(groups: bool) -> int:
    return len(COLUMN_ORDER) + (len(GROUP_COLUMNS) if groups else 0)


def compare_latex(table: Comparison, *, title: str, groups: bool = False) -> str:
    """The table as a LaTeX ``booktabs`` table (``\\usepackage{booktabs}``), best in bold."""
    head = _header(table, groups=groups)
    numeric = _numeric(groups)
    spec = "l" * (len(head) - numeric) + "r" * numeric
    lines = [
        "% needs \\usepackage{booktabs}",
        r"\begin{table}[ht]",
        r"\centering",
        r"\caption{" + latex_escape(title) + " " + latex_escape(_legend(table)) + "}",
        r"\begin{tabular}{" + spec + "}",
        r"\toprule",
        " & ".join(latex_escape(h) for h in head) + r" \\",
        r"\midrule",
    ]
    for row in table.rows:
        cells = _cells(
            table, row, latex_escape, lambda text: r"\textbf{" + text + "}", groups=groups
        )
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def compare_export(table: Comparison, fmt: str, *, title: str, groups: bool = False) -> str:
    """The table in one of the export formats: ``csv``, ``md`` or ``tex``."""
    if fmt == "csv":
        return compare_csv(table, groups=groups)
    render = compare_markdown if fmt == "md" else compare_latex
    return render(table, title=title, groups=groups)
