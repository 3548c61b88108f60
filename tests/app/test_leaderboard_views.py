"""The leaderboard's views: the ranking table, the accuracy/fairness trade-off and the per-group
table, each at its own URL."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, update

from app.db import utcnow
from app.models import Split, Submission, SubmissionScore, User
from app.routes.pages import leaderboards
from app.routes.pages.paging import PER_PAGE
from app.services import competitions, leaderboard
from scoring.groups import ATTRIBUTES
from scoring.tradeoff import dominates
from tests.app.conftest import World
from tests.app.test_leaderboard_pages import seed_crowd
from tests.app.test_pages import Element, api_submit, leaderboard_rows, log_in, page
from tests.support.pages import csrf_of

BIASES = ("gender_bias", "expression_bias", "ethnicity_bias", "age_bias")
ATTRIBUTE_OF = {a.score: a.name for a in ATTRIBUTES}
VALID_ATTRIBUTES = "age, gender, ethnicity, expression"
VIEWS = ("table", "tradeoff", "groups")


def accurate_errors(world: World) -> Any:
    """Small errors, but twice as large for men as for women: accurate and biased."""
    truth = world.truth()
    return np.where(truth.gender == "female", 1.0, 3.0) + np.random.default_rng(0).uniform(
        0, 0.5, len(truth)
    )


def submit_three(site: TestClient, world: World) -> dict[str, int]:
    """accurate-but-biased, fair-but-inaccurate (every group equally bad) and dominated
    (the accurate entry's errors doubled: worse MAE and every bias doubled)."""
    truth = world.truth()
    errors = accurate_errors(world)
    return {
        "accurate": api_submit(site, world, world.user("accurate"), truth.age + errors),
        "fair": api_submit(site, world, world.user("fair"), truth.age + 8.0),
        "dominated": api_submit(site, world, world.user("dominated"), truth.age + 2 * errors),
    }


def board_json(site: TestClient, world: World, split: str = "public") -> list[dict[str, Any]]:
    response = site.get(
        f"/api/v1/phases/{world.phase_id}/leaderboard?split={split}",
        headers=world.headers(world.organizer) | {"accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def expected_fronts(rows: list[dict[str, Any]]) -> dict[str, set[str]]:
    fronts: dict[str, set[str]] = {}
    for score in BIASES:
        points = {r["participant"]: (r["mae"], r[score]) for r in rows if r[score] is not None}
        fronts[score] = {
            name
            for name, point in points.items()
            if not any(dominates(other, point) for other in points.values())
        }
    return fronts


def charts_of(response: Any) -> dict[str, Element]:
    return {
        f.attrs["data-score"]: f for f in page(response).find_all("figure") if "chart" in f.classes
    }


def chart_data(response: Any) -> dict[str, Any]:
    """The JSON island tradeoff.js plots: every entry once, each chart's biases and front."""
    island = page(response).find("script", id="tradeoff-data")
    assert island.attrs["type"] == "application/json"
    data: dict[str, Any] = json.loads(island.text)
    return data


def plotted(data: dict[str, Any], score: str) -> dict[str, float]:
    """Participant → bias of each entry a chart plots (its bias defined)."""
    biases = data["charts"][score]["bias"]
    return {e["name"]: b for e, b in zip(data["entries"], biases, strict=True) if b is not None}


def front_table(chart: Element) -> list[Element]:
    """The rows of a chart's no-script table: its Pareto front."""
    return chart.find("table").find("tbody").find_all("tr")


def group_table_rows(response: Any) -> list[Element]:
    return page(response).find("table", id="group-table").find("tbody").find_all("tr")


# ---- The trade-off -----------------------------------------------------------------------------


def test_pareto_badge_marks_accurate_and_fair_entries_but_not_the_dominated_one(
    site: TestClient, world: World
) -> None:
    submit_three(site, world)
    response = site.get(f"/phases/{world.phase_id}/leaderboard")
    assert response.status_code == 200
    rows = {r.attrs["data-participant"]: r for r in leaderboard_rows(response)}
    fronts = expected_fronts(board_json(site, world))

    assert rows["accurate"].attrs["data-pareto"] == " ".join(ATTRIBUTE_OF[s] for s in BIASES)
    assert "gender" in rows["fair"].attrs["data-pareto"].split()
    assert rows["dominated"].attrs["data-pareto"] == ""
    for name, row in rows.items():
        expected = [ATTRIBUTE_OF[s] for s in BIASES if name in fronts[s]]
        assert row.attrs["data-pareto"].split() == expected, name
        badges = [b for b in row.find_all("span") if "pareto" in b.classes]
        assert len(badges) == (1 if expected else 0), name


def test_charts_plot_every_row_and_list_the_front_without_scripts(
    site: TestClient, world: World
) -> None:
    ids = submit_three(site, world)
    log_in(site, "fair")
    response = site.get(f"/phases/{world.phase_id}/leaderboard?view=tradeoff")
    assert response.status_code == 200
    figures = charts_of(response)
    assert list(figures) == list(BIASES)
    rows = board_json(site, world)
    fronts = expected_fronts(rows)
    data = chart_data(response)
    assert [(e["name"], e["position"], e["mae"]) for e in data["entries"]] == [
        (r["participant"], r["position"], r["mae"]) for r in rows
    ]
    assert page(response).find("section", id="tradeoff").attrs["data-you"] == str(ids["fair"])
    for score, chart in figures.items():
        assert plotted(data, score) == {r["participant"]: r[score] for r in rows}
        front = [data["entries"][index] for index in data["charts"][score]["front"]]
        assert {e["name"] for e in front} == fronts[score], score
        assert [e["mae"] for e in front] == sorted(e["mae"] for e in front)
        listed = front_table(chart)
        assert [int(tr.attrs["data-submission"]) for tr in listed] == [
            e["submission"] for e in front
        ]
        for tr, entry in zip(listed, front, strict=True):
            name, position, mae, bias = (cell.clean_text() for cell in tr.children)
            row = next(r for r in rows if r["participant"] == entry["name"])
            assert name.startswith(row["participant"])
            assert (position, mae, bias) == (
                str(row["position"]),
                f"{row['mae']:.6f}",
                f"{row[score]:.6f}",
            )
        mine = [tr for tr in listed if "mine" in tr.classes]
        assert [tr.find("th").clean_text() for tr in mine] == (
            ["fair you"] if "fair" in fronts[score] else []
        )
    note = page(response).find("p", **{"class": "tradeoff-note"}).clean_text()
    assert note.startswith("A lower bias bought with a much worse MAE is not fairness:")


def test_an_undefined_bias_is_left_out_of_its_chart_only(site: TestClient, world: World) -> None:
    ids = submit_three(site, world)
    with world.db.transaction() as session:
        session.execute(
            update(SubmissionScore)
            .where(SubmissionScore.submission_id == ids["dominated"])
            .values(ethnicity_bias=None)
        )
    response = site.get(f"/phases/{world.phase_id}/leaderboard?view=tradeoff")
    data = chart_data(response)
    for score, chart in charts_of(response).items():
        if score == "ethnicity_bias":
            assert set(plotted(data, score)) == {"accurate", "fair"}
            assert (
                chart.find("p", **{"class": "small muted left-out"})
                .clean_text()
                .endswith("dominated")
            )
        else:
            assert set(plotted(data, score)) == {"accurate", "fair", "dominated"}


def test_a_baseline_is_plotted_and_marked_as_such(site: TestClient, world: World) -> None:
    submit_three(site, world)
    with world.db.transaction() as session:
        organizer = session.get(User, world.organizer.id)
        assert organizer is not None
        competitions.join(
            session, competitions.get_competition(session, world.competition_id), organizer
        )
    baseline_id = api_submit(site, world, world.organizer, np.full(len(world.truth()), 30.0))
    with world.db.transaction() as session:
        session.execute(
            update(Submission)
            .where(Submission.id == baseline_id)
            .values(is_baseline=True, description="predict 30")
        )
    data = chart_data(site.get(f"/phases/{world.phase_id}/leaderboard?view=tradeoff"))
    baselines = [e for e in data["entries"] if e["baseline"]]
    assert [(e["submission"], e["name"]) for e in baselines] == [
        (baseline_id, "Baseline: predict 30")
    ]
    for score in BIASES:
        assert "Baseline: predict 30" in plotted(data, score)


@pytest.mark.parametrize("view", VIEWS)
def test_empty_leaderboard_draws_no_charts_and_no_group_table(
    site: TestClient, world: World, view: str
) -> None:
    response = site.get(f"/phases/{world.phase_id}/leaderboard?view={view}")
    assert response.status_code == 200
    assert not charts_of(response)
    assert 'id="group-table"' not in response.text
    assert page(response).find("p", **{"class": "empty"})


# ---- The views: one URL each, each computing only what it shows --------------------------------


def test_default_view_is_the_table_without_charts_or_group_table(
    site: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit_three(site, world)

    def not_on_this_view(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("computed for a view that does not show it")

    monkeypatch.setattr(leaderboards, "tradeoff_charts", not_on_this_view)
    monkeypatch.setattr(leaderboard, "group_breakdown", not_on_this_view)
    response = site.get(f"/phases/{world.phase_id}/leaderboard")
    assert response.status_code == 200
    assert len(leaderboard_rows(response)) == 3
    assert not charts_of(response)
    assert "<svg" not in response.text
    assert 'id="group-table"' not in response.text
    tabs = page(response).find("nav", **{"aria-label": "Leaderboard views"})
    links = {a.attrs["data-view"]: a for a in tabs.find_all("a")}
    assert [a.clean_text() for a in links.values()] == ["Leaderboard", "Trade-off", "Groups"]
    assert links["table"].attrs["aria-current"] == "page"
    assert links["table"].attrs["href"] == f"/phases/{world.phase_id}/leaderboard"
    assert links["tradeoff"].attrs["href"] == f"/phases/{world.phase_id}/leaderboard?view=tradeoff"
    assert links["groups"].attrs["href"] == f"/phases/{world.phase_id}/leaderboard?view=groups"


def test_trade_off_and_group_views_show_only_their_own_analysis(
    site: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit_three(site, world)
    path = f"/phases/{world.phase_id}/leaderboard"

    def not_on_this_view(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("computed for a view that does not show it")

    with monkeypatch.context() as patched:
        patched.setattr(leaderboard, "group_breakdown", not_on_this_view)
        tradeoff = site.get(f"{path}?view=tradeoff")
    assert tradeoff.status_code == 200
    assert len(charts_of(tradeoff)) == 4
    assert 'id="leaderboard"' not in tradeoff.text and 'id="group-table"' not in tradeoff.text
    assert page(tradeoff).find("a", **{"aria-current": "page", "data-view": "tradeoff"})

    with monkeypatch.context() as patched:
        patched.setattr(leaderboards, "tradeoff_charts", not_on_this_view)
        groups = site.get(f"{path}?view=groups&groups=gender")
    assert groups.status_code == 200
    assert len(group_table_rows(groups)) == 3
    assert not charts_of(groups) and 'id="leaderboard"' not in groups.text


def test_unknown_view_is_a_422_page_listing_the_valid_ones(site: TestClient, world: World) -> None:
    response = site.get(f"/phases/{world.phase_id}/leaderboard?view=charts")
    assert response.status_code == 422
    alert = page(response).find("p", **{"data-code": "invalid_input"})
    assert alert.clean_text() == leaderboards.UNKNOWN_VIEW.format(
        name="charts", expected="table, tradeoff, groups"
    )
    assert alert.clean_text() == (
        "unknown leaderboard view 'charts'; expected one of: table, tradeoff, groups"
    )


# ---- Go deeper: the per-group table ------------------------------------------------------------


@pytest.mark.parametrize("attribute", [a.name for a in ATTRIBUTES])
def test_group_table_shows_each_entrys_group_maes_as_the_api_does(
    site: TestClient, world: World, attribute: str
) -> None:
    submit_three(site, world)
    response = site.get(f"/phases/{world.phase_id}/leaderboard?view=groups&groups={attribute}")
    assert response.status_code == 200
    tree = page(response)
    table = tree.find("table", id="group-table")
    assert table.attrs["data-attribute"] == attribute
    tabs = tree.find("nav", **{"aria-label": "Attribute of the per-group table"})
    assert [a.clean_text() for a in tabs.find_all("a")] == [
        "Age",
        "Gender",
        "Ethnicity",
        "Expression",
    ]
    assert tabs.find("a", **{"aria-current": "page"}).clean_text() == attribute.capitalize()
    assert tabs.find("a", **{"aria-current": "page"}).attrs["href"] == (
        f"/phases/{world.phase_id}/leaderboard?view=groups&groups={attribute}"
    )

    group_names = next(a.groups for a in ATTRIBUTES if a.name == attribute)
    headers = [th for th in table.find("thead").find_all("th") if "data-group" in th.attrs]
    assert [th.attrs["data-group"] for th in headers] == list(group_names)
    rows = group_table_rows(response)
    board = board_json(site, world)
    assert [r.attrs["data-submission"] for r in rows] == [str(e["submission_id"]) for e in board]
    organizer = world.headers(world.organizer) | {"accept": "application/json"}
    for row, entry in zip(rows, board, strict=True):
        detail = site.get(f"/api/v1/submissions/{entry['submission_id']}", headers=organizer)
        groups = detail.json()["groups"][attribute]
        cells = [c for c in row.find_all("td") if "data-group" in c.attrs]
        assert [c.attrs["data-group"] for c in cells] == [g["group"] for g in groups]
        for cell, group in zip(cells, groups, strict=True):
            expected = "n/a" if group["mae"] is None else f"{group['mae']:.6f}"
            assert cell.clean_text() == expected
            if group["mae"] is not None:
                assert float(cell.attrs["data-value"]) == group["mae"]
        bias = row.find("td", **{"data-column": f"{attribute}_bias"})
        assert bias.clean_text() == f"{entry[f'{attribute}_bias']:.6f}"
    for header, group in zip(headers, groups, strict=True):
        assert header.find("span", **{"class": "group-size"}).clean_text() == (
            f"n = {group['size']}"
        )


def test_group_table_highlights_the_lowest_value_of_each_column(
    site: TestClient, world: World
) -> None:
    submit_three(site, world)
    rows = group_table_rows(
        site.get(f"/phases/{world.phase_id}/leaderboard?view=groups&groups=gender")
    )
    columns: dict[str, list[Element]] = {}
    for row in rows:
        for cell in row.find_all("td"):
            key = cell.attrs.get("data-group") or cell.attrs.get("data-column")
            if key:
                columns.setdefault(key, []).append(cell)
    assert list(columns) == ["female", "male", "gender_bias"]
    for key, cells in columns.items():
        values = [float(c.attrs["data-value"]) for c in cells]
        highlighted = [float(c.attrs["data-value"]) for c in cells if "best" in c.classes]
        assert highlighted == [min(values)], key
    fair = next(r for r in rows if r.attrs["data-participant"] == "fair")
    accurate = next(r for r in rows if r.attrs["data-participant"] == "accurate")
    assert "best" in fair.find("td", **{"data-column": "gender_bias"}).classes
    assert "best" in accurate.find("td", **{"data-group": "male"}).classes


def test_unknown_group_attribute_is_a_422_page_listing_the_valid_ones(
    site: TestClient, world: World
) -> None:
    submit_three(site, world)
    response = site.get(f"/phases/{world.phase_id}/leaderboard?view=groups&groups=bogus")
    assert response.status_code == 422
    alert = page(response).find("p", **{"data-code": "invalid_input"})
    assert alert.clean_text() == leaderboard.UNKNOWN_GROUP_ATTRIBUTE.format(
        name="bogus", expected=VALID_ATTRIBUTES
    )
    assert alert.clean_text() == (
        "unknown attribute 'bogus' for the per-group table; expected one of: "
        "age, gender, ethnicity, expression"
    )


def test_group_breakdown_reads_the_reports_in_one_query(world: World, site: TestClient) -> None:
    submit_three(site, world)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with world.db.sessionmaker() as session:
        phase = competitions.get_phase(session, world.phase_id)
        board = leaderboard.build_leaderboard(session, phase, split=Split.PUBLIC)
        event.listen(world.db.engine, "before_cursor_execute", count)
        try:
            breakdown = leaderboard.group_breakdown(session, board, attribute="ethnicity")
        finally:
            event.remove(world.db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert "submission_scores" in statements[0]
    assert [r.submission_id for r in breakdown.rows] == [r.submission_id for r in board.rows]
    assert [r.bias for r in breakdown.rows] == [r.scores["ethnicity_bias"] for r in board.rows]


# ---- The private split -------------------------------------------------------------------------


def printed(values: list[float]) -> set[str]:
    """A value as the page prints it and as its raw attribute."""
    return {f"{v:.6f}" for v in values} | {repr(v) for v in values}


def split_numbers(body: dict[str, Any], prefix: str) -> list[float]:
    values = [v for v in body[f"{prefix}scores"].values() if v is not None]
    return values + [
        g["mae"] for gs in body[f"{prefix}groups"].values() for g in gs if g["mae"] is not None
    ]


def private_only_numbers(site: TestClient, world: World, submission_ids: list[int]) -> set[str]:
    """Every private score and group MAE that differs from all public ones, as printed."""
    organizer = world.headers(world.organizer) | {"accept": "application/json"}
    private: set[str] = set()
    public: set[str] = set()
    for submission_id in submission_ids:
        body = site.get(f"/api/v1/submissions/{submission_id}", headers=organizer).json()
        private |= printed(split_numbers(body, "private_"))
        public |= printed(split_numbers(body, ""))
    return private - public


def test_private_group_table_is_refused_to_participants_before_the_reveal(
    site: TestClient, world: World
) -> None:
    world.update_phase(public_fraction=0.5)
    ids = submit_three(site, world)
    secret = private_only_numbers(site, world, list(ids.values()))
    assert len(secret) > 20
    path = f"/phases/{world.phase_id}/leaderboard"

    log_in(site, "fair")
    queries = [f"view=groups&groups={groups}" for groups in VALID_ATTRIBUTES.split(", ")]
    for query in ["view=table", "view=tradeoff", *queries]:
        refused = site.get(f"{path}?split=private&{query}")
        assert refused.status_code == 403, query
        assert page(refused).find("p", **{"data-code": "forbidden"}).clean_text() == (
            leaderboard.PRIVATE_NOT_REVEALED.format(phase="Task 1")
        )
        public = site.get(f"{path}?{query}")
        assert public.status_code == 200
        leaked = {number for number in secret if number in public.text}
        assert not leaked, f"private numbers on the public page ({query}): {leaked}"
        assert "split=private" not in public.text
        if query.startswith("view=groups"):
            assert page(public).find("table", id="group-table").attrs["data-split"] == "public"
    # Visibility is checked before the view or the attribute is even looked at.
    assert site.get(f"{path}?split=private&view=bogus").status_code == 403
    assert site.get(f"{path}?split=private&view=groups&groups=bogus").status_code == 403

    site.post("/logout", data={"csrf_token": csrf_of(public)})
    log_in(site, "lecturer")
    organizer_view = site.get(f"{path}?split=private&view=groups&groups=age")
    assert organizer_view.status_code == 200
    assert page(organizer_view).find("table", id="group-table").attrs["data-split"] == "private"
    shown = {c.clean_text() for r in group_table_rows(organizer_view) for c in r.find_all("td")}
    assert shown & secret
    switch = page(organizer_view).find("nav", **{"aria-label": "Leaderboard split"})
    assert [a.attrs["href"] for a in switch.find_all("a")] == [
        f"{path}?view=groups&groups=age",
        f"{path}?view=groups&split=private&groups=age",
    ]

    world.update_phase(private_revealed_at=utcnow())
    site.post("/logout", data={"csrf_token": csrf_of(organizer_view)})
    log_in(site, "fair")
    revealed = site.get(f"{path}?split=private&view=groups&groups=age")
    assert revealed.status_code == 200
    assert page(revealed).find("table", id="group-table").attrs["data-split"] == "private"
    assert site.get(f"{path}?split=private&view=tradeoff").status_code == 200


# ---- What the script plots ---------------------------------------------------------------------


def test_the_charts_load_the_vendored_uplot_and_their_data_without_inline_code(
    site: TestClient, world: World
) -> None:
    submit_three(site, world)
    response = site.get(f"/phases/{world.phase_id}/leaderboard?view=tradeoff")
    scripts = page(response).find_all("script")
    sources = [s.attrs["src"] for s in scripts if "src" in s.attrs]
    assert {"/static/vendor/uplot-1.6.32/uPlot.iife.min.js", "/static/tradeoff.js"} <= set(sources)
    assert [s.attrs.get("type") for s in scripts if "src" not in s.attrs] == ["application/json"]
    assert len(chart_data(response)["entries"]) == 3


def test_the_charts_plot_the_whole_board_not_one_page_of_it(site: TestClient, world: World) -> None:
    seed_crowd(world, PER_PAGE + 10)
    table = site.get(f"/phases/{world.phase_id}/leaderboard")
    data = chart_data(site.get(f"/phases/{world.phase_id}/leaderboard?view=tradeoff"))

    assert len(leaderboard_rows(table)) == PER_PAGE
    assert [e["position"] for e in data["entries"]] == list(range(1, PER_PAGE + 11))
