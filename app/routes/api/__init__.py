"""The versioned REST API under /api/v1."""

from fastapi import APIRouter

from app.routes.api import (
    auth,
    compare,
    competitions,
    moderation,
    organizer,
    phases,
    submissions,
    teams,
    webhooks,
)

router = APIRouter(prefix="/api/v1")
router.include_router(auth.router)
router.include_router(auth.users_router)
router.include_router(competitions.router)
router.include_router(phases.router)
router.include_router(submissions.router)
router.include_router(organizer.router)
router.include_router(moderation.router)
router.include_router(webhooks.router)
router.include_router(teams.router)
router.include_router(compare.router)
