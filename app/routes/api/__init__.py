"""The versioned REST API under /api/v1."""

from fastapi import APIRouter

from app.routes.api import auth, competitions, phases, submissions

router = APIRouter(prefix="/api/v1")
router.include_router(auth.router)
router.include_router(competitions.router)
router.include_router(phases.router)
router.include_router(submissions.router)
