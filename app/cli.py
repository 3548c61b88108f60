"""The ``fairboard`` command: the server's (serve, migrate, seed the demo, manage users, run
workers) and the client's (``app.client``: log in, submit, follow results).

Server modules are imported inside the server commands, so the client commands run without
loading SQLAlchemy, FastAPI or the services (a test checks it).
"""

from __future__ import annotations

import contextlib
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.client.commands import client

if TYPE_CHECKING:
    from app.db import Database


class RoleChoice(StrEnum):
    """``app.models.Role``'s values, spelled out so the command line does not import the
    models (a test checks they agree)."""

    ADMIN = "admin"
    ORGANIZER = "organizer"
    PARTICIPANT = "participant"


cli = typer.Typer(
    help="Fairboard: scoring and leaderboards for fair age estimation.", no_args_is_help=True
)
cli.registered_commands.extend(client.registered_commands)


DIRECTORY_NOT_WRITABLE = (
    "error: {path} is not writable by this user (uid {uid}): Fairboard keeps its data there "
    "(FAIRBOARD_DATA_DIR, and the database when FAIRBOARD_DATABASE_URL is SQLite). "
    "Mount a volume this user can write to (docker run -v fairboard-data:/data ...) "
    "or point those settings elsewhere."
)


def _writable_directory(path: Path) -> None:
    # Said here, before SQLite or a job fails with a bare "unable to open database file" or
    # PermissionError: in a container this is a volume mounted with the wrong owner.
    with contextlib.suppress(OSError):
        path.mkdir(parents=True, exist_ok=True)
    if not os.access(path, os.W_OK):
        typer.echo(DIRECTORY_NOT_WRITABLE.format(path=path, uid=os.getuid()), err=True)
        raise typer.Exit(2)


def _database() -> Database:
    from app.config import get_settings
    from app.db import Database

    settings = get_settings()
    if settings.is_sqlite:
        path = settings.database_url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            _writable_directory(Path(path).parent)
    _writable_directory(settings.data_dir)
    return Database(settings.database_url)


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from app.migrate import upgrade

    db = _database()
    upgrade(db.engine)
    db.dispose()
    typer.echo("database is up to date")


@cli.command()
def demo() -> None:
    """Create the demo competition (synthetic test set, baselines, demo accounts)."""
    from app.config import get_settings
    from app.migrate import upgrade
    from app.services.demo import demo_exists, seed_demo

    db = _database()
    upgrade(db.engine)
    if demo_exists(db):
        typer.echo("the database already has competitions; the demo was not created again")
        db.dispose()
        return
    typer.echo("creating the demo competition (synthetic test set of 1,978 items)...")
    accounts = seed_demo(db, get_settings())
    db.dispose()
    typer.echo("demo accounts (username / password / role):")
    for account in accounts:
        typer.echo(f"  {account.username:10s} {account.password:20s} {account.role.value}")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    demo_: Annotated[
        bool, typer.Option("--demo", help="seed the demo competition on an empty database")
    ] = False,
) -> None:
    """Migrate, then serve the web app and API (embedded job runner unless a broker is set)."""
    import uvicorn

    from app.main import served_app

    if demo_:
        import os

        # The demo runs on one machine: webhooks to localhost are what a demo needs.
        os.environ.setdefault("FAIRBOARD_WEBHOOK_ALLOW_PRIVATE", "1")
        demo()
    else:
        migrate()
    typer.echo(f"serving Fairboard at http://{host}:{port}")
    uvicorn.run(served_app(), host=host, port=port, log_level="info")


@cli.command("create-user")
def create_user(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Annotated[
        RoleChoice, typer.Option(help="admin, organizer or participant")
    ] = RoleChoice.PARTICIPANT,
    email: Annotated[str, typer.Option()] = "",
) -> None:
    """Create an account with a given role."""
    from app.errors import AppError
    from app.migrate import upgrade
    from app.models import Role
    from app.services import accounts

    db = _database()
    upgrade(db.engine)
    try:
        with db.transaction() as session:
            user = accounts.register(
                session,
                username=username,
                password=password,
                email=email or f"{username.lower()}@localhost.localdomain",
                role=Role(role.value),
            )
            typer.echo(f"created {user.role.value} {user.username!r} (id {user.id})")
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()


@cli.command()
def worker(
    queues: Annotated[str, typer.Option(help="comma-separated: cpu, gpu")] = "cpu,gpu",
    concurrency: Annotated[int, typer.Option(help="jobs at once")] = 1,
    sweep: Annotated[
        bool, typer.Option(help="take part in the sweep for stuck and undelivered jobs")
    ] = True,
    metrics_port: Annotated[
        int | None, typer.Option(help="serve this worker's Prometheus metrics on this port")
    ] = None,
    hostname: Annotated[
        str | None, typer.Option(help="Celery node name (default fairboard-<pid>@<host>)")
    ] = None,
) -> None:
    """Start a Celery worker: it needs FAIRBOARD_BROKER_URL, _DATABASE_URL and _DATA_DIR."""
    if metrics_port is not None:
        import os
        import tempfile

        # Pool processes write their observations here; must be set before prometheus_client
        # is first imported.
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="fairboard-metrics-")
        )
    from app.jobs.worker import run_worker

    run_worker(
        queues=[q.strip() for q in queues.split(",") if q.strip()],
        concurrency=concurrency,
        sweep=sweep,
        metrics_port=metrics_port,
        hostname=hostname,
    )


def main() -> None:
    cli()
