"""HTML pages for participants and organizers."""

from __future__ import annotations

from fastapi import APIRouter

from app.routes.pages import (
    accounts,
    compare,
    competitions,
    email,
    leaderboards,
    moderation,
    organizer,
    submissions,
    teams,
)

router = APIRouter(include_in_schema=False)
router.include_router(accounts.router)
router.include_router(email.router)
router.include_router(competitions.router)
router.include_router(leaderboards.router)
router.include_router(submissions.router)
router.include_router(teams.router)
router.include_router(compare.router)
# Organizer pages (app/routes/pages/organizer.py, moderation.py) are registered here.
router.include_router(organizer.router)
router.include_router(moderation.router)
