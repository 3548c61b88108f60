"""No stored record can break a view: a finished submission whose stored scores are corrupt is
shown as n/a with a reason, ranked last, and every other entry still renders.

The corruption is written straight into the database, as a bug, a hand edit or an old scorer
could leave it; then every page and API view of the phase is requested by an anonymous
visitor, the corrupt entry's owner, another participant and the organizer.
"""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.db import utcnow
from app.models import SubmissionScore
from app.services import inputs, leaderboard, stored_scores, testsets
from tests.app.conftest import World
from tests.app.test_pages import api_submit
from tests.support.routes import all_routes

GOOD = ("alice", "bob")

CORRUPTIONS: dict[str, dict[str, Any]] = {
    # columns and report both absurd: what a 1e308 prediction used to leave behind
    "huge": {
        "columns": {"mae": 1e308, "gender_bias": 1e308},
        "report": lambda r: r | {"mae": 1e308, "gender_bias": 1e308},
    },
    "infinite": {
        "columns": {"mae": math.inf, "age_bias": -math.inf},
        "report": lambda r: r | {"mae": "NaN", "age_bias": "-Infinity"},
    },
    "nan-strings": {
        "columns": {},
        "report": lambda r: r | {"mae": "NaN", "attributes": [{"attribute": "age"}]},
    },
    "wrong-types": {
        "columns": {"mae": -3.0},
        "report": lambda r: {"mae": "five", "attributes": "age", "n_items": [1], "x": {}},
    },
    "truncated": {
        "columns": {},
        "report": lambda r: {"mae": r["mae"]},
    },
    "not-a-dict": {
        "columns": {},
        "report": lambda r: ["mae", 1.0],
    },
    "group-garbage": {
        "columns": {},
        "report": lambda r: (
            r
            | {
                "attributes": [
                    {"attribute": a["attribute"], "bias": 1e308, "groups": [{"group": None}]}
                    for a in r["attributes"]
                ]
            }
        ),
    },
}


def _corrupt(world: World, submission_id: int, kind: str) -> None:
    recipe = CORRUPTIONS[kind]
    with world.db.transaction() as session:
        for score in session.query(SubmissionScore).filter_by(submission_id=submission_id):
            report = json.loads(json.dumps(score.report))
            session.execute(
                update(SubmissionScore)
                .where(SubmissionScore.id == score.id)
                .values(report=recipe["report"](report), **recipe["columns"])
            )


@pytest.fixture
def corrupted(client: TestClient, world: World) -> dict[str, Any]:
    """Two sound entries, one participant owning a corrupt entry of each kind (one user each,
    so each is their leaderboard entry), the private split revealed."""
    world.update_phase(public_fraction=0.5, private_revealed_at=utcnow() - timedelta(hours=1))
    truth = world.truth()
    for offset, name in enumerate(GOOD, start=1):
        api_submit(client, world, world.user(name), truth.age + offset)
    owner = world.user("owner")
    corrupt: dict[str, int] = {}
    for kind in CORRUPTIONS:
        user = owner if kind == "huge" else world.user(f"c-{kind}")
        corrupt[kind] = api_submit(client, world, user, truth.age + 3)
        _corrupt(world, corrupt[kind], kind)
    return {
        "corrupt": corrupt,
        "viewers": {
            "anonymous": {},
            "owner": world.headers(owner),
            "other": world.headers(world.user("other")),
            "organizer": world.headers(world.organizer),
        },
    }


def _views(world: World, corrupt: dict[str, int]) -> dict[str, tuple[str, ...]]:
    """The views of the phase, by who must get a 200 from each."""
    p, c = world.phase_id, world.competition_id
    boards = [
        f"/phases/{p}/leaderboard?split={split}&view={view}&groups={groups}"
        for split in ("public", "private")
        for view, groups in (
            ("table", "age"),
            ("tradeoff", "age"),
            *(("groups", a) for a in ("age", "gender", "ethnicity", "expression")),
        )
    ]
    boards += [
        f"/api/v1/phases/{p}/leaderboard?split={split}&format={fmt}"
        for split in ("public", "private")
        for fmt in ("json", "csv")
    ]
    boards += [
        f"/api/v1/phases/{p}/exports/leaderboard.{fmt}?split={split}"
        for split in ("public", "private")
        for fmt in ("csv", "md", "tex")
    ]
    public = ("/", f"/competitions/{c}", f"/api/v1/phases/{p}", f"/api/v1/competitions/{c}")
    own = tuple(
        url
        for submission_id in corrupt.values()
        for url in (f"/submissions/{submission_id}", f"/api/v1/submissions/{submission_id}")
    )
    organizer = (
        f"/organize/phases/{p}/submissions",
        f"/organize/phases/{p}",
        f"/organize/competitions/{c}",
        f"/api/v1/phases/{p}/submissions",
        f"/api/v1/phases/{p}/exports/submissions.csv",
        f"/api/v1/phases/{p}/settings",
    )
    mine = (f"/phases/{p}/submissions", f"/api/v1/phases/{p}/submissions/mine")
    huge = corrupt["huge"]
    return {
        "owner_own": (f"/submissions/{huge}", f"/api/v1/submissions/{huge}"),
        "boards": tuple(boards),
        "public": public,
        "mine": mine,
        "own": own,
        "organizer": organizer,
    }


MUST_SEE = {
    "anonymous": ("boards", "public"),
    "other": ("boards", "public", "mine"),
    "owner": ("boards", "public", "mine", "owner_own"),
    "organizer": ("boards", "public", "mine", "own", "organizer"),
}


def test_every_view_of_a_phase_with_corrupt_scores_renders_for_everyone(
    client: TestClient, world: World, corrupted: dict[str, Any]
) -> None:
    views = _views(world, corrupted["corrupt"])
    failures = []
    for viewer, headers in corrupted["viewers"].items():
        for group in MUST_SEE[viewer]:
            for url in views[group]:
                response = client.get(url, headers=headers, follow_redirects=False)
                if response.status_code != 200:
                    failures.append((viewer, url, response.status_code))
                    continue
                assert "NaN" not in response.text, (viewer, url)
                if group == "boards":
                    for name in GOOD:
                        assert name in response.text, (viewer, url, name)
    assert failures == []


def test_the_owner_sees_their_corrupt_submission_as_not_available(
    client: TestClient, world: World, corrupted: dict[str, Any]
) -> None:
    submission_id = corrupted["corrupt"]["huge"]
    headers = corrupted["viewers"]["owner"]
    page = client.get(f"/submissions/{submission_id}", headers=headers)
    assert page.status_code == 200
    assert "n/a" in page.text
    body = client.get(f"/api/v1/submissions/{submission_id}", headers=headers).json()
    assert body["scores"] is None
    assert body["scores_note"].startswith("n/a: ")


def test_no_route_answers_5xx_with_corrupt_records_stored(
    client: TestClient, world: World, corrupted: dict[str, Any]
) -> None:
    ids = {
        "phase_id": world.phase_id,
        "competition_id": world.competition_id,
        "submission_id": corrupted["corrupt"]["wrong-types"],
    }
    gets = [
        re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
        for method, path in sorted(all_routes(client.app))
        if method == "GET" and set(re.findall(r"\{(\w+)\}", path)) <= ids.keys()
    ]
    assert len(gets) > 20
    # Built, so that the inputs downloads answer what they serve, not a 503 for being prepared.
    with world.db.sessionmaker() as session:
        testset = testsets.get_testset(session, world.testset_id)
        inputs.build(inputs.Source.of(world.settings, testset), wait=True)
    errors = [
        (viewer, url, status)
        for viewer, headers in corrupted["viewers"].items()
        for url in gets
        if (status := client.get(url, headers=headers, follow_redirects=False).status_code) >= 500
    ]
    assert errors == []


def test_a_corrupt_entry_is_ranked_last_with_its_scores_not_available(
    client: TestClient, world: World, corrupted: dict[str, Any]
) -> None:
    rows = client.get(
        f"/api/v1/phases/{world.phase_id}/leaderboard",
        headers=corrupted["viewers"]["organizer"],
    ).json()
    sound = [r for r in rows if r["participant"] in GOOD]
    unreadable = [r for r in rows if r["note"] is not None]
    assert [r["participant"] for r in sound] == list(GOOD)
    assert {r["submission_id"] for r in unreadable} >= {
        corrupted["corrupt"][kind] for kind in ("huge", "infinite", "wrong-types")
    }
    assert max(r["position"] for r in sound) < min(r["position"] for r in unreadable)
    for row in unreadable:
        assert all(row[name] is None for name in leaderboard.COLUMN_ORDER)
        assert row["note"].startswith("n/a: ")


SOUND = {"mae": 5.0, "age_bias": 1.0, "gender_bias": None, "ethnicity_bias": 0.0}


@pytest.mark.parametrize(
    ("values", "note"),
    [
        (SOUND | {"expression_bias": 2.0}, None),
        (SOUND | {"mae": None}, "n/a: the stored MAE is missing"),
        (SOUND | {"age_bias": math.nan}, "n/a: the stored age_bias is not a finite number"),
        (SOUND | {"age_bias": "1.0"}, "n/a: the stored age_bias is not a finite number"),
        (SOUND | {"mae": 1e308}, "n/a: the stored mae is outside 0 to 100,000"),
        (
            SOUND | {"ethnicity_bias": -0.5},
            "n/a: the stored ethnicity_bias is outside 0 to 100,000",
        ),
    ],
)
def test_stored_scores_are_shown_only_when_finite_and_in_range(
    values: dict[str, Any], note: str | None
) -> None:
    read = stored_scores.read_scores(values)
    assert read.note == note
    if note is not None:
        assert set(read.scores.values()) == {None}


@pytest.mark.parametrize("kind", ["huge", "nan-strings", "wrong-types", "truncated", "not-a-dict"])
def test_an_unreadable_report_is_not_available_with_its_reason(kind: str) -> None:
    report = {
        "mae": 5.0,
        **dict.fromkeys(("age_bias", "gender_bias", "ethnicity_bias", "expression_bias"), 1.0),
        "n_items": 3,
        "attributes": [{"attribute": "age", "bias": 1.0, "groups": []}],
    }
    read = stored_scores.read_report(CORRUPTIONS[kind]["report"](report))
    assert read.report is None
    assert read.note in (
        "n/a: the stored per-group report is unreadable",
        "n/a: the stored mae is outside 0 to 100,000",
        "n/a: the stored mae is not a finite number",
    )
