"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import text

from app.deps import DatabaseDep, SettingsDep
from app.telemetry import CONTENT_TYPE_LATEST, metrics_refusal, render

FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"

router = APIRouter(tags=["operations"], include_in_schema=False)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The site icon, where browsers look for it without being told."""
    return FileResponse(
        FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )


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
def metrics(request: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Prometheus metrics: this process's job durations, submissions and queues from the DB.

    Who may read them is ``FAIRBOARD_METRICS``: off (404), public, or token (Bearer).
    """
    refusal = metrics_refusal(settings, request.headers.get("authorization", ""))
    if refusal is not None:
        return Response(
            refusal.text,
            status_code=refusal.status,
            media_type="text/plain",
            headers=refusal.headers,
        )
    return Response(render(db), media_type=CONTENT_TYPE_LATEST)
