"""Celery workers: the job runner of the scale-out mode (``FAIRBOARD_BROKER_URL`` set).

Dispatch. The API commits a submission, then sends the task ``fairboard.run_submission(id)``
to the queue of its kind: ``cpu`` for prediction files, ``gpu`` for models. A worker runs the
same ``services.evaluation.run_submission`` as the embedded runner. The database is the source
of truth and the broker only carries wake-ups: a lost message costs time, a duplicated one
nothing, and neither loses a submission or scores one twice (a claim moves ``queued`` to
``running`` once, and only the holder of the claim's job token can record the result).

Delivery. Tasks are acknowledged when they end (``task_acks_late``), handed back to the queue
when their pool process dies (``task_reject_on_worker_lost``), and each pool process reserves
one message at a time. A claim's job token starts with the task id, so a message delivered
again after its process died finds the submission ``running`` under its own task id and takes
it over at once: the dead process's token no longer matches, so nothing it left behind counts.
A job interrupted ``MAX_ATTEMPTS`` times fails with a message instead of looping forever.
That holds only while a message cannot come back during the run of its first delivery, which
is why Redis's visibility timeout (``broker_visibility_timeout_seconds``) must stay above the
longest model time limit.

Sweep. Each worker runs a sweeper thread; a Redis lock lets one of them sweep per
``sweep_interval_seconds`` (the sweep needs no extra process, and goes on while any worker
lives). It queues again, with a fresh dispatch, every running submission past its expected end
(its phase's model time limit, or at once for a file) plus ``stuck_job_grace_seconds``: that is
how the jobs of a worker machine that died with its messages come back. And it dispatches again
every queued submission older than the grace period that has no message waiting in a broker
queue: a publish that failed, a broker that lost its data, a worker that died holding a message
it had not claimed yet.
"""

from __future__ import annotations

import base64
import contextvars
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Celery, Task, signals
from kombu import Exchange, Queue
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.config import Settings, get_settings
from app.db import Database, utcnow
from app.logs import configure_logging, current_submission
from app.models import Phase, Submission, SubmissionKind, SubmissionStatus
from app.services.evaluation import run_submission

log = logging.getLogger("fairboard.worker")

TASK_NAME = "fairboard.run_submission"
QUEUE_BY_KIND = {SubmissionKind.PREDICTIONS: "cpu", SubmissionKind.MODEL: "gpu"}
QUEUES = ("cpu", "gpu")
SWEEP_LOCK_KEY = "fairboard:sweep-lock"

NO_BROKER = "FAIRBOARD_BROKER_URL must be set to run a worker (e.g. redis://localhost:6379/0)"
UNKNOWN_QUEUE = "unknown queue {queue!r}; expected cpu, gpu or both"
MAX_ATTEMPTS = 3
GAVE_UP = (
    "the evaluation was interrupted {attempts} times (its worker was lost); "
    "the organizers can re-run it"
)

Dispatch = Callable[[int, SubmissionKind], None]


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings for a broker at ``settings.broker_url``; results are not stored."""
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.broker_visibility_timeout_seconds
        },
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # Each queue its own exchange and key: a bare Queue(name) would inherit the default
        # queue's, and every message would land in ``cpu``.
        "task_queues": tuple(Queue(name, Exchange(name), routing_key=name) for name in QUEUES),
        "task_default_queue": "cpu",
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
    }


def make_celery(settings: Settings) -> Celery:
    """A Celery app for sending and sweeping; workers use the module's ``celery_app``."""
    app = Celery("fairboard", set_as_current=False)
    app.conf.update(celery_config(settings))
    return app


celery_app = Celery("fairboard", set_as_current=False)
"""The workers' app: ``run_worker`` configures it from the settings, then starts it."""

_settings: Settings | None = None
_database: tuple[int, Database] | None = None


def worker_runtime() -> tuple[Database, Settings]:
    """This process's database and settings, built on first use in each (pool) process."""
    global _database, _settings
    if _settings is None:
        _settings = get_settings()
    if _database is None or _database[0] != os.getpid():
        # A forked pool process must not share its parent's connections.
        _database = (os.getpid(), Database(_settings.database_url))
    return _database[1], _settings


def job_token(task_id: str) -> str:
    """A claim's token: the task id, then a part unique to this delivery."""
    return f"{task_id}:{secrets.token_hex(8)}"


def release_claim(session: Session, submission_id: int, owned_by: ColumnElement[bool]) -> bool:
    """Take a running job back from a lost claim: queued again, or failed when it has been
    interrupted ``MAX_ATTEMPTS`` times (a job that kills its worker must not loop forever).
    """
    base = (
        Submission.id == submission_id,
        Submission.status == SubmissionStatus.RUNNING,
        owned_by,
    )
    requeued = session.execute(
        update(Submission)
        .where(*base, Submission.attempts < MAX_ATTEMPTS)
        .values(status=SubmissionStatus.QUEUED, job_token=None, progress_done=0)
    )
    if int(requeued.rowcount) == 1:  # type: ignore[attr-defined]
        return True
    failed = session.execute(
        update(Submission)
        .where(*base, Submission.attempts >= MAX_ATTEMPTS)
        .values(
            status=SubmissionStatus.FAILED,
            error=GAVE_UP.format(attempts=MAX_ATTEMPTS),
            finished_at=utcnow(),
            job_token=None,
        )
    )
    if int(failed.rowcount) == 1:  # type: ignore[attr-defined]
        log.error("submission %s: %s", submission_id, GAVE_UP.format(attempts=MAX_ATTEMPTS))
    return False


def take_over_orphaned_claim(db: Database, submission_id: int, task_id: str) -> bool:
    """Queue again a submission that an earlier delivery of this same task had claimed.

    A message comes back only when the process that held it is gone (or the task retried),
    so a claim made under its task id has no live owner any more.
    """
    with db.transaction() as session:
        return release_claim(
            session,
            submission_id,
            Submission.job_token.startswith(f"{task_id}:", autoescape=True),
        )


@celery_app.task(
    name=TASK_NAME,
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=8,
)
def run_submission_task(self: Task, submission_id: int) -> str | None:
    """Evaluate one submission; does nothing when it is no longer queued (done or taken)."""
    db, settings = worker_runtime()
    task_id = str(self.request.id)
    if take_over_orphaned_claim(db, submission_id, task_id):
        log.warning("took the job over again: its earlier delivery's worker process was lost")
    outcome = run_submission(db, settings, submission_id, token=job_token(task_id))
    return None if outcome is None else outcome.value


_task_context: dict[str, contextvars.Token[int | None]] = {}


@signals.task_prerun.connect
def _log_with_submission_id(task_id: str, task: Task, args: Sequence[Any], **_: Any) -> None:
    # Celery's own lines about the task (e.g. "succeeded in 0.02s") carry the id too.
    if task.name == TASK_NAME and args:
        _task_context[task_id] = current_submission.set(int(args[0]))


@signals.task_postrun.connect
def _log_without_submission_id(task_id: str, **_: Any) -> None:
    marker = _task_context.pop(task_id, None)
    if marker is not None:
        current_submission.reset(marker)


def send_submission(celery: Celery, submission_id: int, kind: SubmissionKind) -> None:
    """Publish the task for one submission to its kind's queue."""
    celery.send_task(
        TASK_NAME,
        args=[submission_id],
        queue=QUEUE_BY_KIND[kind],
        retry=True,
        retry_policy={"max_retries": 3, "interval_start": 0, "interval_step": 0.5},
    )


class CeleryJobs:
    """The job dispatcher of the scale-out mode: one message per dispatch, to Celery workers."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.celery = make_celery(settings)

    def start(self) -> None:
        """Nothing runs in the web process: workers run the jobs and sweep for stuck ones."""

    def dispatch(self, submission_id: int, kind: SubmissionKind) -> None:
        try:
            send_submission(self.celery, submission_id, kind)
        except Exception:
            # The submission is committed as queued: the workers' sweep will send it again.
            log.exception("could not send submission %s to the broker", submission_id)

    def shutdown(self) -> None:
        self.celery.close()


@dataclass(frozen=True)
class SweepReport:
    requeued: list[int]
    """Running past their expected end: queued again and dispatched."""
    redispatched: list[int]
    """Queued with no message in the broker: dispatched again."""


def sweep_stuck_submissions(
    db: Database,
    settings: Settings,
    dispatch: Dispatch,
    *,
    pending: Collection[int] | None,
    now: datetime | None = None,
) -> SweepReport:
    """Take back jobs stuck past their time and send again those no message will deliver.

    ``pending``: the submissions with a message waiting in a broker queue (None when that is
    unknown: then every queued submission past the grace period is sent again, which costs
    only duplicate messages). A job is taken back only if it still has the token it had when
    it was found, so a worker finishing it at that moment keeps its result.
    """
    now = now or utcnow()
    grace = timedelta(seconds=settings.stuck_job_grace_seconds)
    requeued: list[tuple[int, SubmissionKind]] = []
    with db.transaction() as session:
        running = session.execute(
            select(
                Submission.id,
                Submission.kind,
                Submission.started_at,
                Submission.job_token,
                Phase.model_time_limit_seconds,
            )
            .join(Phase, Phase.id == Submission.phase_id)
            .where(Submission.status == SubmissionStatus.RUNNING)
        ).all()
        for submission_id, kind, started_at, token, time_limit in running:
            expected = timedelta(seconds=time_limit if kind is SubmissionKind.MODEL else 0)
            if started_at is not None and started_at + expected + grace > now:
                continue
            same_claim = (
                Submission.job_token.is_(None) if token is None else Submission.job_token == token
            )
            if release_claim(session, submission_id, same_claim):
                requeued.append((submission_id, kind))
    for submission_id, kind in requeued:
        log.warning("submission %s was running past its time: queued again", submission_id)
        dispatch(submission_id, kind)
    just_sent = {submission_id for submission_id, _ in requeued}
    with db.sessionmaker() as session:
        queued = session.execute(
            select(Submission.id, Submission.kind)
            .where(
                Submission.status == SubmissionStatus.QUEUED,
                Submission.created_at <= now - grace,
            )
            .order_by(Submission.id)
        ).all()
    redispatched = []
    for submission_id, kind in queued:
        if submission_id in just_sent or (pending is not None and submission_id in pending):
            continue
        dispatch(submission_id, kind)
        redispatched.append(submission_id)
    if redispatched:
        log.warning("sent %d queued submission(s) again: %s", len(redispatched), redispatched)
    return SweepReport(requeued=[sid for sid, _ in requeued], redispatched=redispatched)


def _submission_id_of(raw: bytes) -> int | None:
    """The submission of a task message as the Redis transport stores it; None for others."""
    try:
        message = json.loads(raw)
        if (message.get("headers") or {}).get("task") != TASK_NAME:
            return None
        body = message["body"]
        if (message.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return int(args[0])
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def _redis_client(connection: Any) -> Any | None:
    if connection.transport.driver_type != "redis":
        return None
    return connection.default_channel.client


def pending_submission_ids(connection: Any) -> set[int] | None:
    """Submissions with a task message waiting in the ``cpu`` or ``gpu`` queue (Redis only)."""
    client = _redis_client(connection)
    if client is None:
        return None
    channel = connection.default_channel
    pending: set[int] = set()
    for queue in QUEUES:
        names = {queue, *(channel._q_for_pri(queue, step) for step in channel.priority_steps)}
        for name in names:
            for raw in client.lrange(name, 0, -1):
                submission_id = _submission_id_of(raw)
                if submission_id is not None:
                    pending.add(submission_id)
    return pending


class Sweeper:
    """A thread in a worker's main process that sweeps, one worker per interval (Redis lock)."""

    def __init__(self, settings: Settings, *, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.celery = make_celery(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fairboard-sweeper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        db = Database(self.settings.database_url)
        try:
            while not self._stop.wait(self.settings.sweep_interval_seconds):
                try:
                    self.sweep_once(db)
                except Exception:
                    log.exception(
                        "the sweep failed; it runs again in %s s",
                        self.settings.sweep_interval_seconds,
                    )
        finally:
            db.dispose()
            self.celery.close()

    def sweep_once(self, db: Database) -> SweepReport | None:
        """Sweep unless another worker did within the interval; None when it did."""
        with self.celery.connection_for_write() as connection:
            client = _redis_client(connection)
            lock_ms = max(1, int(self.settings.sweep_interval_seconds * 900))
            if client is not None and not client.set(
                SWEEP_LOCK_KEY, self.name, nx=True, px=lock_ms
            ):
                return None
            pending = pending_submission_ids(connection)

            def dispatch(submission_id: int, kind: SubmissionKind) -> None:
                send_submission(self.celery, submission_id, kind)

            return sweep_stuck_submissions(db, self.settings, dispatch, pending=pending)


def run_worker(
    queues: Sequence[str],
    concurrency: int,
    *,
    settings: Settings | None = None,
    sweep: bool = True,
    metrics_port: int | None = None,
    hostname: str | None = None,
    pool: str = "prefork",
) -> None:
    """Run a Celery worker on ``queues`` until it is stopped (what ``fairboard worker`` does)."""
    global _settings
    settings = settings or get_settings()
    if not settings.broker_url:
        raise SystemExit(NO_BROKER)
    for queue in queues:
        if queue not in QUEUES:
            raise SystemExit(UNKNOWN_QUEUE.format(queue=queue))
    configure_logging(json_lines=settings.log_json, everything=True)
    logging.captureWarnings(True)
    _settings = settings
    celery_app.conf.update(celery_config(settings))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if metrics_port is not None:
        from app.metrics import serve_worker_metrics

        serve_worker_metrics(metrics_port)
    # Logging is configured above; Celery must not replace it.
    signals.setup_logging.connect(_keep_logging, weak=False)
    if sweep:
        sweeper = Sweeper(settings)
        signals.worker_ready.connect(lambda **_: sweeper.start(), weak=False)
        signals.worker_shutting_down.connect(lambda **_: sweeper.stop(), weak=False)
    # JSON logs: no banner on stdout, every line a JSON record.
    celery_app.worker_main(
        [
            *(["--quiet"] if settings.log_json else []),
            "worker",
            f"--queues={','.join(queues)}",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            f"--hostname={hostname or f'fairboard-{os.getpid()}@%h'}",
            "--loglevel=INFO",
            "--optimization=fair",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def _keep_logging(**_: Any) -> None:
    return None
