"""The offline scorer: ``python -m scoring score|rank|make-testset``.

The same code as the leaderboard, so that teams can score validation predictions locally::

    python -m scoring score --truth labels.csv --predictions predictions.csv [--json]
    python -m scoring rank scores.csv [--ties dense|min|average]
    python -m scoring make-testset OUT [--n 1978] [--seed 0]

Bad input exits with status 2 and a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from scoring.errors import ScoringError
from scoring.groups import SCORE_NAMES
from scoring.metrics import SCORER_VERSION, ScoreReport, score
from scoring.predictions import PredictionLimits, parse_predictions
from scoring.ranking import LEADERBOARD_COLUMNS, TIE_POLICIES, RankEntry, rank_entries

__all__ = [
    "DUPLICATE_PARTICIPANT",
    "EXIT_BAD_INPUT",
    "MISSING_COLUMNS",
    "NOT_A_SCORE",
    "NOT_A_TIMESTAMP",
    "SCORES_NOT_UTF8",
    "CommandInputError",
    "main",
]

EXIT_OK = 0
EXIT_BAD_INPUT = 2
UNDEFINED = "n/a"
PARTICIPANT_COLUMN = "participant"
SUBMITTED_AT_COLUMN = "submitted_at"

MISSING_COLUMNS = "{file}: missing columns: {columns}"
NOT_A_SCORE = "{file} line {line}: {column} {value!r} is not a finite number or empty"
NOT_A_TIMESTAMP = "{file} line {line}: submitted_at {value!r} is not an ISO 8601 date and time"
DUPLICATE_PARTICIPANT = "{file} line {line}: participant {participant!r} already on line {first}"
SCORES_NOT_UTF8 = "{file}: not UTF-8 text"


class CommandInputError(ScoringError):
    """Bad input to a command: an unreadable scores CSV, a bad argument value."""


def _format_score(value: float | None) -> str:
    return UNDEFINED if value is None else f"{value:.6f}"


def _print_report(report: ScoreReport, fingerprint: str, out: TextIO) -> None:
    out.write(f"test set  {fingerprint} ({report.n_items} items)\n")
    out.write(f"scorer    {SCORER_VERSION}\n\n")
    width = max(len(name) for name in SCORE_NAMES)
    for name, value in report.scores().items():
        out.write(f"{name:<{width}}  {_format_score(value):>12}\n")
    rows = [
        (attribute.attribute, group.group, str(group.size), _format_score(group.mae))
        for attribute in report.attributes
        for group in attribute.groups
    ]
    header = ("attribute", "group", "size", "MAE")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out.write("\n")
    for row in [header, *rows]:
        out.write(
            f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  "
            f"{row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}\n"
        )


def _score_command(args: argparse.Namespace, out: TextIO) -> int:
    # Imported here: reading test sets pulls in more than ranking needs.
    from scoring.testset import read_labels

    truth = read_labels(Path(args.truth))
    limits = PredictionLimits()
    predictions_path = Path(args.predictions)
    with predictions_path.open("rb") as stream:
        # One byte over the limit is enough for parse_predictions to reject the file.
        data = stream.read(limits.max_file_bytes + 1)
    predictions = parse_predictions(data, truth.ids, filename=predictions_path.name, limits=limits)
    report = score(truth, predictions)
    if args.json:
        document: dict[str, Any] = {
            **report.to_dict(),
            "scorer_version": SCORER_VERSION,
            "testset_fingerprint": truth.fingerprint(),
        }
        out.write(json.dumps(document, indent=2, allow_nan=False) + "\n")
    else:
        _print_report(report, truth.fingerprint(), out)
    return EXIT_OK


def _parse_score(value: str, *, file: str, line: int, column: str) -> float | None:
    text = value.strip()
    if not text or text.lower() == UNDEFINED:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.inf
    if math.isnan(number):
        return None
    if not math.isfinite(number):
        raise CommandInputError(
            NOT_A_SCORE.format(file=file, line=line, column=column, value=value)
        )
    return number


def _parse_timestamp(value: str, *, file: str, line: int) -> datetime:
    try:
        timestamp = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CommandInputError(NOT_A_TIMESTAMP.format(file=file, line=line, value=value)) from None
    # Naive times are taken as UTC, so that they compare with zone-aware ones.
    return timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)


def _read_scores(path: Path) -> list[RankEntry]:
    file = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CommandInputError(SCORES_NOT_UTF8.format(file=file)) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fieldnames = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = fieldnames
    required = [PARTICIPANT_COLUMN, *(column.name for column in LEADERBOARD_COLUMNS)]
    missing = [name for name in required if name not in fieldnames]
    if missing:
        raise CommandInputError(MISSING_COLUMNS.format(file=file, columns=", ".join(missing)))
    has_times = SUBMITTED_AT_COLUMN in fieldnames
    entries: list[RankEntry] = []
    first_line: dict[str, int] = {}
    for index, row in enumerate(reader):
        line = reader.line_num
        participant = (row[PARTICIPANT_COLUMN] or "").strip()
        if participant in first_line:
            raise CommandInputError(
                DUPLICATE_PARTICIPANT.format(
                    file=file, line=line, participant=participant, first=first_line[participant]
                )
            )
        first_line[participant] = line
        scores = {
            column.name: _parse_score(
                row[column.name] or "", file=file, line=line, column=column.name
            )
            for column in LEADERBOARD_COLUMNS
        }
        order: tuple[Any, ...] = (index,)
        if has_times:
            order = (_parse_timestamp(row[SUBMITTED_AT_COLUMN] or "", file=file, line=line), index)
        entries.append(RankEntry(key=participant, scores=scores, order=order))
    return entries


def _format_number(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _rank_command(args: argparse.Namespace, out: TextIO) -> int:
    entries = _read_scores(Path(args.scores))
    ranked = rank_entries(entries, ties=args.ties)
    names = [column.name for column in LEADERBOARD_COLUMNS]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["position", PARTICIPANT_COLUMN, *names, *(f"{n}_rank" for n in names), "ranking"]
    )
    for entry in ranked:
        writer.writerow(
            [
                entry.position,
                entry.key,
                *(_score_cell(entry.scores[name]) for name in names),
                *(_format_number(entry.ranks[name]) for name in names),
                _format_number(entry.ranking),
            ]
        )
    return EXIT_OK


def _score_cell(value: float | None) -> str:
    # Scores keep their exact repr (5.0 stays 5.0); only ranks drop a zero fraction.
    return "" if value is None else repr(float(value))


def _make_testset_command(args: argparse.Namespace, out: TextIO) -> int:
    from scoring.synthetic import make_testset

    try:
        path = make_testset(Path(args.out), n=args.n, seed=args.seed)
    except ValueError as error:  # make_testset's own check of n
        raise CommandInputError(str(error)) from None
    out.write(f"wrote a synthetic test set of {args.n} items to {path}\n")
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scoring",
        description="Fairboard's offline scorer: the leaderboard's exact numbers, locally.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    score_parser = commands.add_parser(
        "score", help="score a prediction file against a test set's labels"
    )
    score_parser.add_argument(
        "--truth",
        required=True,
        metavar="PATH",
        help="labels.csv, an APPA-REAL folder, or a test-set folder or .zip in any layout",
    )
    score_parser.add_argument(
        "--predictions",
        required=True,
        metavar="FILE",
        help="keyed CSV, legacy one-number-per-line file, or either inside a .zip",
    )
    score_parser.add_argument("--json", action="store_true", help="print one JSON object")
    score_parser.set_defaults(run=_score_command)

    rank_parser = commands.add_parser("rank", help="rank participants' scores as SPEC §6 does")
    rank_parser.add_argument(
        "scores",
        metavar="SCORES.csv",
        help="columns participant, the five scores, optional submitted_at (ISO 8601)",
    )
    rank_parser.add_argument(
        "--ties",
        choices=TIE_POLICIES,
        default="dense",
        help="tie policy of the column ranks (default: dense)",
    )
    rank_parser.set_defaults(run=_rank_command)

    make_parser = commands.add_parser("make-testset", help="write a synthetic test set")
    make_parser.add_argument("out", metavar="OUT", help="folder to create")
    make_parser.add_argument("--n", type=int, default=1978, help="number of items (1978)")
    make_parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    make_parser.set_defaults(run=_make_testset_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status (0 ok, 2 bad input, message on stderr).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     scores = Path(folder) / "scores.csv"
        ...     _ = scores.write_text("participant,gender_bias,expression_bias,ethnicity_bias,"
        ...                           "age_bias,mae\\nb,0.5,0.25,,2.0,6.5\\n")
        ...     status = main(["rank", str(scores)])  # doctest: +NORMALIZE_WHITESPACE
        position,participant,gender_bias,expression_bias,ethnicity_bias,age_bias,mae,\
gender_bias_rank,expression_bias_rank,ethnicity_bias_rank,age_bias_rank,mae_rank,ranking
        1,b,0.5,0.25,,2.0,6.5,1,1,1,1,1,1
        >>> status
        0
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse has printed its usage message; return its status rather than exiting.
        return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
    try:
        status: int = args.run(args, sys.stdout)
    except (ScoringError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return status


if __name__ == "__main__":
    sys.exit(main())
