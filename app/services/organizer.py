"""Former home of the organizer use cases, now in the module of the entity each acts on
(``competitions``, ``phases``, ``testsets``); these names stay importable for older callers."""

from app.services.phases import update_phase
from app.services.testsets import CANNOT_UPLOAD_TESTSET

__all__ = ["CANNOT_UPLOAD_TESTSET", "update_phase"]
