"""Prometheus metrics: durations observed where jobs run, gauges read from the database.

Durations (``fairboard_scoring_seconds``, ``fairboard_inference_seconds``) and outcomes are
observed in the process that evaluates a submission: the web process in the embedded mode,
each Celery worker in the scale-out mode (``fairboard worker --metrics-port``, which serves
them for all of a worker's pool processes). Submission counts and queue depths are read from
the database at scrape time, so any API replica reports the whole deployment.

Who may read them is one rule (:func:`metrics_refusal`, ``FAIRBOARD_METRICS``) for the API's
``/metrics`` and a worker's port alike; a worker's ``/healthz`` answers to anyone and shows
nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.config import Settings
from app.db import Database, utcnow
from app.models import Submission, SubmissionKind, SubmissionStatus
from app.security import secrets_match

__all__ = [
    "CONTENT_TYPE_LATEST",
    "metrics_refusal",
    "observe_evaluation",
    "render",
    "serve_worker_metrics",
]

METRICS_OFF = "metrics are off (FAIRBOARD_METRICS=off)"
METRICS_TOKEN_REQUIRED = "metrics need the FAIRBOARD_METRICS_TOKEN as a Bearer token"
NOT_FOUND = "not found: this port serves /metrics and /healthz"

DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
)

SCORING_SECONDS = Histogram(
    "fairboard_scoring_seconds",
    "Time to evaluate a claimed submission, from its claim to its recorded outcome.",
    ["kind"],
    buckets=DURATION_BUCKETS,
)
INFERENCE_SECONDS = Histogram(
    "fairboard_inference_seconds",
    "Time a model submission spent in its sandboxed inference process.",
    ["provider"],
    buckets=DURATION_BUCKETS,
)
EVALUATIONS = Counter(
    "fairboard_evaluations",
    "Evaluations completed by this process, by kind and outcome (finished or failed).",
    ["kind", "outcome"],
)


def observe_evaluation(
    kind: SubmissionKind,
    outcome: SubmissionStatus,
    seconds: float,
    *,
    provider: str | None = None,
    inference_seconds: float | None = None,
) -> None:
    """Record one evaluation that this process brought to an end."""
    EVALUATIONS.labels(kind.value, outcome.value).inc()
    SCORING_SECONDS.labels(kind.value).observe(seconds)
    if inference_seconds is not None:
        INFERENCE_SECONDS.labels(provider or "unknown").observe(inference_seconds)


class DatabaseCollector(Collector):
    """Submissions by state and kind, queue depth and the oldest queued job, read at scrape."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_state = GaugeMetricFamily(
            "fairboard_submissions", "Submissions by state and kind.", labels=["state", "kind"]
        )
        depth = GaugeMetricFamily(
            "fairboard_queue_depth",
            "Submissions waiting to be evaluated, by kind.",
            labels=["kind"],
        )
        oldest = GaugeMetricFamily(
            "fairboard_oldest_queued_seconds",
            "Age of the oldest queued submission, by kind (0 when none is queued).",
            labels=["kind"],
        )
        with self.db.sessionmaker() as session:
            counts = {
                (status, kind): int(count)
                for status, kind, count in session.execute(
                    select(Submission.status, Submission.kind, func.count()).group_by(
                        Submission.status, Submission.kind
                    )
                )
            }
            first_queued: dict[SubmissionKind, datetime] = {
                kind: created
                for kind, created in session.execute(
                    select(Submission.kind, func.min(Submission.created_at))
                    .where(Submission.status == SubmissionStatus.QUEUED)
                    .group_by(Submission.kind)
                )
                if created is not None
            }
        now = utcnow()
        for kind in SubmissionKind:
            for status in SubmissionStatus:
                by_state.add_metric([status.value, kind.value], counts.get((status, kind), 0))
            depth.add_metric([kind.value], counts.get((SubmissionStatus.QUEUED, kind), 0))
            created = first_queued.get(kind)
            age = 0.0 if created is None else max(0.0, (now - created).total_seconds())
            oldest.add_metric([kind.value], age)
        yield by_state
        yield depth
        yield oldest


def render(db: Database) -> bytes:
    """The exposition text: this process's metrics, then the database gauges."""
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(db))
    return generate_latest(REGISTRY) + generate_latest(database)


@dataclass(frozen=True)
class PlainAnswer:
    """A plain-text answer in place of the metrics: a refusal (a scraper gets no login page and
    no redirect), or a worker's health check."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def metrics_refusal(settings: Settings, authorization: str) -> PlainAnswer | None:
    """Why a caller sending ``authorization`` may not read the metrics; None when they may.

    ``FAIRBOARD_METRICS``: off (404), public, or token (the ``FAIRBOARD_METRICS_TOKEN`` as a
    Bearer token, else 401).
    """
    access = settings.metrics_access
    if access == "off":
        return PlainAnswer(404, METRICS_OFF)
    if access == "token":
        scheme, _, given = authorization.partition(" ")
        expected = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        if scheme.lower() != "bearer" or not secrets_match(expected, given.strip()):
            return PlainAnswer(401, METRICS_TOKEN_REQUIRED, {"WWW-Authenticate": "Bearer"})
    return None


StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found"}


def worker_metrics_app(settings: Settings, registry: CollectorRegistry) -> WsgiApp:
    """A worker's port: ``/metrics`` under :func:`metrics_refusal`, ``/healthz`` for its
    container's health check (alive, nothing shown)."""
    from prometheus_client import make_wsgi_app

    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            answer: PlainAnswer | None = PlainAnswer(200, "ok")
        elif path != "/metrics":
            answer = PlainAnswer(404, NOT_FOUND)
        else:
            answer = metrics_refusal(settings, environ.get("HTTP_AUTHORIZATION", ""))
        if answer is None:
            return metrics(environ, start_response)
        headers = [("Content-Type", "text/plain; charset=utf-8"), *answer.headers.items()]
        start_response(f"{answer.status} {REASONS[answer.status]}", headers)
        return [answer.text.encode()]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not worth a log line each."""


def serve_worker_metrics(port: int, settings: Settings, *, address: str = "0.0.0.0") -> WSGIServer:
    """Serve this worker's metrics, summed over its pool processes, on ``port`` (in a thread of
    its own; the server is returned so that it can be shut down).

    Needs ``PROMETHEUS_MULTIPROC_DIR`` set before ``prometheus_client`` was first imported
    (``fairboard worker --metrics-port`` does that), so that forked pool processes write
    their observations where the serving process can read them.
    """
    from prometheus_client import multiprocess

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise RuntimeError("PROMETHEUS_MULTIPROC_DIR must be set to serve worker metrics")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    server = make_server(
        address, port, worker_metrics_app(settings, registry), _Server, handler_class=_Quiet
    )
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    return server
