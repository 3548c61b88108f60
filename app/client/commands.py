"""The client's commands, added to the ``fairboard`` command next to the server's.

Every command takes ``--json`` (one JSON document on stdout, errors included) and ends with
the pinned exit codes (``session.exit_code_for``).
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from app.client import output
from app.client.session import (
    EXIT_OTHER,
    EXIT_REJECTED,
    Api,
    ClientError,
    ProgressReader,
    forget_credentials,
    load_credentials,
    save_credentials,
    server_url,
)
from app.client.transfer import download as _download

client = typer.Typer()

JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
PhaseOption = Annotated[int, typer.Option("--phase", help="the phase id", min=1)]
META_KEYS = ("preset", "output_scale")
BAD_META = "--meta {item!r}: write key=value with key one of {keys}"
SUBMISSION_FAILED = "submission {id} failed: {error}"
TOKEN_OR_PASSWORD = "give --token, or a username and password"


def _run(as_json: bool, action: Callable[[], Any], show: Callable[[Any], None]) -> Any:
    """Run a command's action; print its result for people or as JSON; exit on an error."""
    try:
        result = action()
    except ClientError as exc:
        if as_json:
            output.print_json(exc.to_dict())
        else:
            output.stderr().print(f"error: {exc.message}", markup=False)
        raise typer.Exit(exc.exit_code) from exc
    if as_json:
        output.print_json(result)
    else:
        show(result)
    return result


def _say(text: str) -> Callable[[Any], None]:
    return lambda result: output.stdout().print(text.format_map(result), markup=False)


@client.command(rich_help_panel="Client")
def login(
    url: Annotated[str | None, typer.Option(help="the server (default: FAIRBOARD_URL)")] = None,
    username: Annotated[str | None, typer.Option(help="your user name")] = None,
    token: Annotated[
        str | None, typer.Option(help="an API token made on the site, instead of a password")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Log in and keep a token in your config directory (readable by you alone)."""
    if token is None and username is None:
        username = typer.prompt("username", err=True)
    password = typer.prompt("password", hide_input=True, err=True) if token is None else None

    def action() -> dict[str, Any]:
        api = Api(server_url(url), token)
        stored: dict[str, Any] = {"url": api.url}
        if token is None:
            made = api.json(
                "POST",
                "/auth/token",
                json={"username": username, "password": password, "name": "fairboard-cli"},
            )
            api.token = made["token"]
            stored["token_id"] = made["id"]
        me = api.json("GET", "/auth/me")
        stored |= {"token": api.token, "username": me["username"]}
        path = save_credentials(stored)
        return {"url": api.url, "username": me["username"], "credentials": str(path)}

    _run(as_json, action, _say("logged in to {url} as {username}"))


@client.command(rich_help_panel="Client")
def logout(as_json: JsonOption = False) -> None:
    """Revoke the stored token (when this client made it) and forget it."""

    def action() -> dict[str, Any]:
        stored = load_credentials()
        revoked = False
        if stored.get("token") and stored.get("token_id"):
            try:
                Api(server_url(), stored["token"]).call(
                    "DELETE", f"/auth/tokens/{stored['token_id']}"
                )
                revoked = True
            except ClientError:
                revoked = False  # already revoked, or the server is gone: forget it anyway
        return {"forgotten": forget_credentials(), "revoked": revoked}

    _run(
        as_json,
        action,
        lambda r: output.stdout().print("logged out" if r["forgotten"] else "not logged in"),
    )


@client.command(rich_help_panel="Client")
def competitions(as_json: JsonOption = False) -> None:
    """List the competitions and their phases."""

    def show(rows: list[dict[str, Any]]) -> None:
        output.print_table(
            "Competitions",
            ["id", "title", "phases", "joined"],
            [
                (
                    c["id"],
                    c["title"],
                    ", ".join(f"{p['id']}: {p['name']}" for p in c["phases"]),
                    c["joined"],
                )
                for c in rows
            ],
        )

    _run(as_json, lambda: Api.from_environment(login=False).json("GET", "/competitions"), show)


@client.command(rich_help_panel="Client")
def phases(
    competition: Annotated[int, typer.Argument(help="the competition id", min=1)],
    as_json: JsonOption = False,
) -> None:
    """List a competition's phases, with your remaining quota when you have joined."""

    def show(rows: list[dict[str, Any]]) -> None:
        output.print_table(
            f"Phases of competition {competition}",
            ["id", "name", "open", "closes", "kinds", "left today"],
            [
                (
                    p["id"],
                    p["name"],
                    p["is_open"],
                    p["closes_at"],
                    ", ".join(p["submission_kinds"]),
                    (p.get("quota") or {}).get("remaining_today"),
                )
                for p in rows
            ],
        )

    def action() -> list[dict[str, Any]]:
        found = Api.from_environment(login=False).json("GET", f"/competitions/{competition}")
        return list(found["phases"])

    _run(as_json, action, show)


@client.command(rich_help_panel="Client")
def join(
    competition: Annotated[int, typer.Argument(help="the competition id", min=1)],
    as_json: JsonOption = False,
) -> None:
    """Join a competition as a participant."""
    _run(
        as_json,
        lambda: Api.from_environment().json("POST", f"/competitions/{competition}/join"),
        _say("joined competition {competition_id}"),
    )


@client.command(rich_help_panel="Client")
def inputs(
    phase: Annotated[int, typer.Argument(help="the phase id", min=1)],
    out: Annotated[Path, typer.Option("-o", "--out", help="folder to unpack into")] = Path("."),
    array: Annotated[
        bool, typer.Option("--array", help="also save the pixels as one array (test-images.npz)")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Download a phase's public test inputs (ids.csv, images) and unpack them into a folder.

    A broken download resumes where it stopped when the command is run again."""

    def action() -> dict[str, Any]:
        api = Api.from_environment()
        out.mkdir(parents=True, exist_ok=True)
        described = (api.json("GET", f"/phases/{phase}").get("inputs") or {}).get
        archive = out / f"phase{phase}-test-inputs.zip"
        expected = (described("archive") or {}).get("sha256")
        got = [_download(api, f"/phases/{phase}/inputs", archive, "inputs", sha256=expected)]
        with zipfile.ZipFile(archive) as unpacked:
            names = unpacked.namelist()
            unpacked.extractall(out)
        archive.unlink()
        result: dict[str, Any] = {"phase_id": phase, "directory": str(out), "files": len(names)}
        if array:
            target = out / "test-images.npz"
            expected = (described("array") or {}).get("sha256")
            result["array"] = str(target)
            got.append(
                _download(api, f"/phases/{phase}/inputs/array", target, "array", sha256=expected)
            )
        return result | {
            "bytes": sum(d.bytes for d in got),
            "received": sum(d.received for d in got),
        }

    _run(as_json, action, _say("{files} files of phase {phase_id} unpacked into {directory}"))


def _parse_meta(items: list[str]) -> dict[str, str]:
    fields = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in META_KEYS:
            raise ClientError(BAD_META.format(item=item, keys=", ".join(META_KEYS)), EXIT_REJECTED)
        fields[key] = value
    return fields


def _wait(api: Api, submission: dict[str, Any], poll: float) -> dict[str, Any]:
    """Follow a submission until it finishes or fails, with a bar of its progress."""
    with output.progress_bar(f"submission {submission['id']}", None, transfer=False) as bar:
        while submission["status"] in ("queued", "running"):
            progress = submission.get("progress") or {}
            label = f"submission {submission['id']} {submission['status']}"
            bar.update(progress.get("done", 0), progress.get("total"), label)
            time.sleep(poll)
            submission = api.json("GET", f"/submissions/{submission['id']}")
    return submission


def _show_submission(submission: dict[str, Any]) -> None:
    console = output.stdout()
    console.print(
        f"submission {submission['id']} ({submission['kind']}, {submission['filename']}): "
        f"{submission['status']}",
        markup=False,
    )
    progress = submission.get("progress")
    if submission["status"] in ("queued", "running") and progress:
        console.print(f"progress: {progress.get('done')}/{progress.get('total')}", markup=False)
    if submission.get("error"):
        console.print(f"error: {submission['error']}", markup=False)
    if submission.get("scores"):
        console.print(f"scores: {output.scores_text(submission['scores'])}", markup=False)


def _fail_unless_finished(submission: dict[str, Any]) -> None:
    if submission["status"] == "failed":
        raise typer.Exit(EXIT_REJECTED)


@client.command(rich_help_panel="Client")
def submit(
    file: Annotated[Path, typer.Argument(help="predictions (.csv/.txt/.zip) or a model (.onnx)")],
    phase: PhaseOption,
    description: Annotated[str, typer.Option(help="a note shown with the submission")] = "",
    meta: Annotated[
        list[str] | None, typer.Option(help="key=value: preset=..., output_scale=...")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="follow it until it is scored")] = False,
    poll: Annotated[float, typer.Option(hidden=True, min=0.01)] = 2.0,
    as_json: JsonOption = False,
) -> None:
    """Submit predictions or a model; with --wait, print the five scores (or the error)."""

    def action() -> dict[str, Any]:
        fields = {"description": description, **_parse_meta(meta or [])}
        api = Api.from_environment()
        if not file.is_file():
            raise ClientError(f"{file}: no such file", EXIT_OTHER)
        with file.open("rb") as handle, output.progress_bar("upload", file.stat().st_size) as bar:
            made = api.json(
                "POST",
                f"/phases/{phase}/submissions",
                files={"file": (file.name, ProgressReader(handle, bar.advance))},
                data=fields,
            )
        return _wait(api, made, poll) if wait else dict(made)

    result = _run(as_json, action, _show_submission)
    if wait:
        _fail_unless_finished(result)


@client.command(rich_help_panel="Client")
def status(
    submission: Annotated[int, typer.Argument(help="the submission id", min=1)],
    as_json: JsonOption = False,
) -> None:
    """One submission: its status, progress, scores or error."""
    _run(
        as_json,
        lambda: Api.from_environment().json("GET", f"/submissions/{submission}"),
        _show_submission,
    )


@client.command(rich_help_panel="Client")
def submissions(phase: PhaseOption, as_json: JsonOption = False) -> None:
    """Your submissions in a phase, newest first."""

    def show(rows: list[dict[str, Any]]) -> None:
        output.print_table(
            f"Your submissions in phase {phase}",
            ["id", "submitted", "kind", "status", "mae", "file"],
            [
                (
                    s["id"],
                    s["created_at"],
                    s["kind"],
                    s["status"],
                    (s["scores"] or {}).get("mae"),
                    s["filename"],
                )
                for s in rows
            ],
        )

    _run(
        as_json,
        lambda: Api.from_environment().json("GET", f"/phases/{phase}/submissions/mine"),
        show,
    )


@client.command(rich_help_panel="Client")
def leaderboard(
    phase: PhaseOption,
    csv: Annotated[bool, typer.Option("--csv", help="print the CSV export")] = False,
    split: Annotated[str, typer.Option(help="public, or private after the reveal")] = "public",
    as_json: JsonOption = False,
) -> None:
    """A phase's leaderboard (as a table, JSON or CSV)."""
    api = Api.from_environment(login=False)
    query = {"split": split}
    if csv:
        _run(
            False,
            lambda: (
                api.call(
                    "GET", f"/phases/{phase}/leaderboard", params=query | {"format": "csv"}
                ).text
            ),
            lambda text: typer.echo(text, nl=False),
        )
        return

    def show(rows: list[dict[str, Any]]) -> None:
        output.print_table(
            f"Leaderboard of phase {phase} ({split})",
            ["#", "participant", "ranking", *output.SCORE_NAMES],
            [
                (r["position"], r["participant"], r["ranking"], *(r[n] for n in output.SCORE_NAMES))
                for r in rows
            ],
        )

    _run(as_json, lambda: api.json("GET", f"/phases/{phase}/leaderboard", params=query), show)


@client.command(rich_help_panel="Client")
def download(
    submission: Annotated[int, typer.Argument(help="the submission id", min=1)],
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="file or folder (default: here)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Download a submission's file as it was uploaded."""

    def action() -> dict[str, Any]:
        api = Api.from_environment()
        found = api.json("GET", f"/submissions/{submission}")
        name = Path(str(found["filename"])).name or f"submission-{submission}"
        target = out or Path(name)
        if target.is_dir():
            target = target / name
        size = _download(api, f"/submissions/{submission}/file", target, name).bytes
        return {"submission_id": submission, "path": str(target), "bytes": size}

    _run(as_json, action, _say("saved {path} ({bytes} bytes)"))
