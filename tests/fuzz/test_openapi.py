"""schemathesis against the real app on the embedded default (SQLite): for every operation of
the OpenAPI schema, generated requests as a participant and as an organizer never get a 5xx,
and every documented response matches its schema.

The competition, its phase and a small synthetic test set are seeded first, so requests that
name them reach real records, not only 404s. Bounded by ``MAX_EXAMPLES`` per operation and
role and derandomized, so CI runs the same cases every time within a few minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from app.services import inputs, testsets
from tests.app.conftest import World
from tests.app.test_pages import api_submit
from tests.fuzz.bounds import bounded

MAX_EXAMPLES = 20
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

pytestmark = pytest.mark.fuzz


Caller = Callable[[], dict[str, str]]


@pytest.fixture
def participant(world: World) -> Caller:
    """A participant of the seeded competition: a fresh API token for every request, since a
    generated request may revoke the token it was sent with."""
    user = world.user("fuzzer")
    return lambda: world.headers(user)


@pytest.fixture
def organizer(world: World) -> Caller:
    """The seeded competition's organizer, with a fresh API token for every request."""
    return lambda: world.headers(world.organizer)


BOUNDED = bounded(MAX_EXAMPLES)


def findings(app: Any, caller: Caller, known: dict[str, int]) -> list[str]:
    """Every operation of the app's schema fuzzed as ``caller``; one line per failure.

    Half the generated requests have their path ids replaced by ``known`` ones (the seeded
    records), so they reach real records, not only 404s. Drives schemathesis's strategies
    with hypothesis directly (its pytest plugin's lazy schemas do not run under this
    pytest), one operation at a time, so every operation's failure is reported.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=st.tuples(operation.as_strategy(), st.booleans()).map(_aim(known)))
        @BOUNDED
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=caller(), checks=CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as failure:  # every finding, then the test fails
            found.append(f"{operation.label}: {_clipped(str(failure))}")
    return found


def _clipped(text: str, keep: int = 1500) -> str:
    """A long failure's head (what failed) and tail (how to reproduce it)."""
    if len(text) <= 2 * keep:
        return text
    return f"{text[:keep]}\n[... {len(text) - 2 * keep} characters ...]\n{text[-keep:]}"


def _aim(known: dict[str, int]) -> Callable[[tuple[Any, bool]], Any]:
    def aim(drawn: tuple[Any, bool]) -> Any:
        case, at_known = drawn
        if at_known and case.path_parameters:
            for name in case.path_parameters:
                if name in known:
                    case.path_parameters[name] = known[name]
        return case

    return aim


@pytest.fixture
def known(client: TestClient, world: World) -> dict[str, int]:
    """The seeded records: the competition, its phase and test set (its inputs built, so that a
    download is not a 503 for being prepared), and a scored submission."""
    with world.db.sessionmaker() as session:
        testset = testsets.get_testset(session, world.testset_id)
        inputs.build(inputs.Source.of(world.settings, testset), wait=True)
    truth = world.truth()
    submission_id = api_submit(client, world, world.user("seeded"), truth.age + 2.0)
    return {
        "competition_id": world.competition_id,
        "phase_id": world.phase_id,
        "testset_id": world.testset_id,
        "submission_id": submission_id,
    }


def test_as_a_participant_no_operation_answers_5xx_or_breaks_its_schema(
    app: Any, participant: Caller, known: dict[str, int]
) -> None:
    assert findings(app, participant, known) == []


def test_as_an_organizer_no_operation_answers_5xx_or_breaks_its_schema(
    app: Any, organizer: Caller, known: dict[str, int]
) -> None:
    assert findings(app, organizer, known) == []
