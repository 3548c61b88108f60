"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from app.deps import DatabaseDep, SettingsDep
from app.metrics import CONTENT_TYPE_LATEST, render

router = APIRouter(tags=["operations"], include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(db: DatabaseDep, settings: SettingsDep) -> Response:
    """The database answers and the data directory is writable."""
    problems = []
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means not ready
        problems.append(f"database: {type(exc).__name__}")
    probe = settings.data_dir / ".readyz"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        problems.append(f"data_dir: {exc.strerror}")
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics")
def metrics(db: DatabaseDep) -> Response:
    """Prometheus metrics: this process's job durations, submissions and queues from the DB."""
    return Response(render(db), media_type=CONTENT_TYPE_LATEST)
