"""Celery workers: the job runner of the scale-out mode (``FAIRBOARD_BROKER_URL`` set).

Wake-ups, not jobs. The API commits a submission, then sends ``fairboard.run_next(kind)`` to
the queue of its kind: ``cpu`` for prediction files, ``gpu`` for models. A worker that takes
the message runs the next queued job of that kind in the fair order (round-robin across
participants, as the embedded runner does), so one participant's burst cannot delay everyone
else's first job, and ``queue_position`` is exact in both modes. The database is the source of
truth: a lost message costs time (the sweep sends it again), a duplicated one a look at the
queue, and neither loses a submission or scores one twice (a claim moves ``queued`` to
``running`` once, and only the holder of the claim's job token can record the result).

Leases. The holder renews its job's lease every ``job_heartbeat_seconds`` from a thread, also
while the inference child runs. A worker that dies stops renewing; one lease period later the
sweep (each worker runs a sweeper thread; a Redis lock lets one of them sweep per
``sweep_interval_seconds``) takes the job back and wakes a worker. A worker also sweeps once
when it starts. The phase's time limit bounds the model's run only, not the recovery.

Delivery. Messages are acknowledged when their task ends (``task_acks_late``) and handed back
when a pool process dies (``task_reject_on_worker_lost``): the wake-up of a dead worker wakes
another. Redis's visibility timeout must stay at least one lease period (checked at start-up:
``app.jobs.leases.check_settings``); a message delivered twice is a spare wake-up.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from celery import Celery, Task, signals
from kombu import Exchange, Queue
from sqlalchemy.exc import OperationalError

from app.config import Settings, get_settings
from app.db import Database
from app.jobs import execute, leases
from app.jobs.deliveries import DeliveryLoop
from app.jobs.sweep import SweepReport
from app.jobs.sweep import sweep as sweep_jobs
from app.logs import configure_logging
from app.models import SubmissionKind
from app.phase_notifications import PhaseNoticeLoop

log = logging.getLogger("fairboard.worker")

TASK_NAME = "fairboard.run_next"
QUEUE_BY_KIND = {SubmissionKind.PREDICTIONS: "cpu", SubmissionKind.MODEL: "gpu"}
QUEUES = ("cpu", "gpu")
SWEEP_LOCK_KEY = "fairboard:sweep-lock"
PHASE_POLL_SECONDS = 1.0
"""How often each worker looks for a requested leaderboard recomputation."""

NO_BROKER = "FAIRBOARD_BROKER_URL must be set to run a worker (e.g. redis://localhost:6379/0)"
UNKNOWN_QUEUE = "unknown queue {queue!r}; expected cpu, gpu or both"
KIND_OF_QUEUE = {queue: kind for kind, queue in QUEUE_BY_KIND.items()}


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


@celery_app.task(
    name=TASK_NAME,
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=8,
)
def run_next_task(self: Task, kind: str) -> int | None:
    """Run the next queued job of ``kind`` in the fair order; the id it ran, or None."""
    db, settings = worker_runtime()
    ran = execute.run_next(db, settings, SubmissionKind(kind), worker=leases.process_name("worker"))
    return None if ran is None else ran[0]


def send_wake_up(celery: Celery, kind: SubmissionKind) -> None:
    """Publish one wake-up to the queue of ``kind``."""
    celery.send_task(
        TASK_NAME,
        args=[kind.value],
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
            send_wake_up(self.celery, kind)
        except Exception:
            # The submission is committed as queued: the workers' sweep will send it again.
            log.exception("could not send submission %s to the broker", submission_id)

    def shutdown(self) -> None:
        self.celery.close()


def _redis_client(connection: Any) -> Any | None:
    if connection.transport.driver_type != "redis":
        return None
    return connection.default_channel.client


def pending_wake_ups(connection: Any) -> dict[SubmissionKind, int] | None:
    """Wake-ups waiting per kind in the ``cpu`` and ``gpu`` queues (Redis only)."""
    client = _redis_client(connection)
    if client is None:
        return None
    channel = connection.default_channel
    pending: dict[SubmissionKind, int] = {}
    for queue in QUEUES:
        names = {queue, *(channel._q_for_pri(queue, step) for step in channel.priority_steps)}
        pending[KIND_OF_QUEUE[queue]] = sum(int(client.llen(name)) for name in names)
    return pending


class Sweeper:
    """A thread in a worker's main process that sweeps, one worker per interval (Redis lock)."""

    def __init__(self, settings: Settings, *, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or leases.process_name("sweeper")
        self.celery = make_celery(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Phase e-mails tick on a thread of their own: a slow mail server must not delay sweeps.
        self._phase_mail = PhaseNoticeLoop(Database(settings.database_url), settings)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fairboard-sweeper", daemon=True)
            self._thread.start()
            self._phase_mail.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._phase_mail.stop()
        self._phase_mail.db.dispose()

    def _run(self) -> None:
        db = Database(self.settings.database_url)
        try:
            # Sweep at once: jobs held by a worker that died before this one started come back.
            # Leaderboard recomputations run here too: rows in the database, claimed with a
            # lease, so any worker may take one and they wait at most one short poll.
            next_sweep = 0.0
            while True:
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.settings.sweep_interval_seconds
                    try:
                        self.sweep_once(db)
                    except Exception:
                        log.exception(
                            "the sweep failed; it runs again in %s s",
                            self.settings.sweep_interval_seconds,
                        )
                try:
                    execute.run_pending_phase_jobs(db, self.settings)
                except Exception:
                    log.exception("leaderboard recomputation failed; retrying shortly")
                if self._stop.wait(PHASE_POLL_SECONDS):
                    break
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
            pending = pending_wake_ups(connection)
            return sweep_jobs(
                db,
                lambda kind: send_wake_up(self.celery, kind),
                pending=pending,
                actor=self.name,
            )


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
    leases.check_settings(settings)
    configure_logging(json_lines=settings.log_json, everything=True)
    logging.captureWarnings(True)
    _settings = settings
    celery_app.conf.update(celery_config(settings))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if metrics_port is not None:
        from app.telemetry import serve_worker_metrics

        serve_worker_metrics(metrics_port, settings)
    # Logging is configured above; Celery must not replace it.
    signals.setup_logging.connect(_keep_logging, weak=False)
    if sweep:
        sweeper = Sweeper(settings)
        signals.worker_ready.connect(lambda **_: sweeper.start(), weak=False)
        signals.worker_shutting_down.connect(lambda **_: sweeper.stop(), weak=False)
    # Webhook deliveries: each worker's main process sends the due ones (claimed row by row).
    deliveries = DeliveryLoop(Database(settings.database_url), settings)
    signals.worker_ready.connect(lambda **_: deliveries.start(), weak=False)
    signals.worker_shutting_down.connect(lambda **_: deliveries.stop(), weak=False)
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
