"""Every client command against a real server: its output for people and as JSON, and the
pinned exit codes (0 success, 2 rejected input, 3 quota, 4 not allowed, 1 anything else)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from app.client import commands
from app.client.session import NOT_LOGGED_IN, credentials_path
from app.services import inputs, testsets
from tests.app.client.conftest import Cli
from tests.app.conftest import PASSWORD, prediction_csv

SCORES = {"mae", "age_bias", "gender_bias", "ethnicity_bias", "expression_bias"}


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def predictions(live: Cli, tmp_path: Path, *, name: str = "p.csv") -> Path:
    truth = live.world.truth()
    path = tmp_path / name
    path.write_bytes(prediction_csv(truth.ids, truth.age + 2.0))
    return path


def participant(live: Cli, name: str = "alice", *, join: bool = True) -> str:
    return live.world.token(live.world.user(name, join=join))


def test_login_with_a_password_stores_a_token_only_its_owner_can_read(
    live: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    live.world.user("alice")
    result = live("login", "--json", input=f"alice\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    # typer's runner echoes the typed input onto stdout; a terminal shows it instead
    body = json.loads(result.stdout[result.stdout.index("{") :])
    assert (body["username"], body["url"]) == ("alice", live.url)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(live.config))
    path = credentials_path()
    assert body["credentials"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PASSWORD not in path.read_text()
    mine = live("submissions", "--phase", str(live.world.phase_id), "--json")
    assert as_json(mine) == []


def test_the_password_is_asked_without_echo(live: Cli) -> None:
    live.world.user("alice")
    result = live("login", "--username", "alice", input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert f"logged in to {live.url} as alice" in result.stdout


def test_a_wrong_password_exits_4(live: Cli) -> None:
    live.world.user("alice")
    result = live("login", "--username", "alice", "--json", input="wrong-password\n")
    assert result.exit_code == 4
    assert json.loads(result.stdout)["error"]["status"] == 401


def test_login_with_a_token_and_logout_revokes_only_what_it_made(live: Cli) -> None:
    token = participant(live)
    assert as_json(live("login", "--token", token, "--json"))["username"] == "alice"
    assert as_json(live("logout", "--json")) == {"forgotten": True, "revoked": False}
    assert live("status", "1").exit_code == 4


def test_logout_revokes_the_token_login_made(live: Cli) -> None:
    live.world.user("alice")
    as_json(live("login", "--username", "alice", "--json", input=f"{PASSWORD}\n"))
    stored = json.loads((live.config / "fairboard" / "credentials.json").read_text())
    result = live("logout")
    assert (result.exit_code, result.stdout.strip()) == (0, "logged out")
    refused = live("submissions", "--phase", str(live.world.phase_id), token=stored["token"])
    assert refused.exit_code == 4


def test_commands_that_need_a_login_say_so_and_exit_4(live: Cli) -> None:
    result = live("submissions", "--phase", str(live.world.phase_id))
    assert result.exit_code == 4
    assert result.stderr.strip() == f"error: {NOT_LOGGED_IN}"


def test_competitions_and_phases_in_both_modes(live: Cli) -> None:
    listed = as_json(live("competitions", "--json"))
    assert [c["id"] for c in listed] == [live.world.competition_id]
    table = live("competitions")
    assert "Age estimation" in table.stdout
    phases = as_json(live("phases", str(live.world.competition_id), "--json"))
    assert [p["id"] for p in phases] == [live.world.phase_id]
    shown = live("phases", str(live.world.competition_id))
    assert phases[0]["name"] in shown.stdout
    assert live("phases", "999999").exit_code == 1


def test_join_in_both_modes(live: Cli) -> None:
    carol = participant(live, "carol", join=False)
    joined = live("join", str(live.world.competition_id), token=carol)
    assert joined.stdout.strip() == f"joined competition {live.world.competition_id}"
    dave = participant(live, "dave", join=False)
    body = as_json(live("join", str(live.world.competition_id), "--json", token=dave))
    assert body["competition_id"] == live.world.competition_id


def built_inputs(live: Cli) -> inputs.InputsState:
    """The world's test inputs, built here or by the server's start-up (waited for)."""
    with live.world.db.sessionmaker() as session:
        testset = testsets.get_testset(session, live.world.testset_id)
        inputs.build(inputs.Source.of(live.world.settings, testset), wait=True)
        return inputs.state_of(live.world.settings, testset)


def test_inputs_are_unpacked_into_a_folder(live: Cli, tmp_path: Path) -> None:
    live.world.update_phase(inputs_public=True)
    built_inputs(live)
    token = participant(live)
    out = tmp_path / "inputs"
    body = as_json(live("inputs", str(live.world.phase_id), "-o", str(out), "--json", token=token))
    assert (out / "ids.csv").is_file()
    assert body["files"] == len([p for p in out.rglob("*") if p.is_file()])
    again = live("inputs", str(live.world.phase_id), "-o", str(tmp_path / "again"), token=token)
    assert "unpacked into" in again.stdout


def test_a_broken_inputs_download_resumes_from_where_it_stopped(live: Cli, tmp_path: Path) -> None:
    state = built_inputs(live)
    assert state.archive is not None and state.array is not None
    out = tmp_path / "inputs"
    out.mkdir()
    # What a broken run leaves: the first bytes and the ETag they came with.
    half = state.archive.bytes // 2
    (out / f"phase{live.world.phase_id}-test-inputs.zip.part").write_bytes(
        state.archive.path.read_bytes()[:half]
    )
    (out / f"phase{live.world.phase_id}-test-inputs.zip.part.etag").write_text(state.archive.etag)
    args = ("inputs", str(live.world.phase_id), "-o", str(out), "--array", "--json")
    body = as_json(live(*args, token=participant(live)))
    assert body["bytes"] == state.archive.bytes + state.array.bytes
    assert body["received"] == state.archive.bytes - half + state.array.bytes
    assert (out / "ids.csv").is_file()
    assert sorted(p.name for p in out.iterdir() if p.suffix in (".part", ".etag", ".zip")) == []
    assert (out / "test-images.npz").read_bytes() == state.array.path.read_bytes()


def test_a_stale_partial_download_is_replaced_by_the_whole_file(live: Cli, tmp_path: Path) -> None:
    state = built_inputs(live)
    assert state.archive is not None
    out = tmp_path / "inputs"
    out.mkdir()
    part = out / f"phase{live.world.phase_id}-test-inputs.zip.part"
    part.write_bytes(b"x" * 100)
    (out / f"{part.name}.etag").write_text('"an-older-build"')
    body = as_json(
        live("inputs", str(live.world.phase_id), "-o", str(out), "--json", token=participant(live))
    )
    assert body["received"] == body["bytes"] == state.archive.bytes
    assert (out / "ids.csv").is_file()


def test_hidden_inputs_exit_4(live: Cli, tmp_path: Path) -> None:
    live.world.update_phase(inputs_public=False)
    result = live("inputs", str(live.world.phase_id), "-o", str(tmp_path), token=participant(live))
    assert result.exit_code == 4


def test_submit_and_wait_prints_the_five_scores(live: Cli, tmp_path: Path) -> None:
    live.world.settings.inline_scoring_max_bytes = 0  # queued: --wait follows the runner
    token = participant(live)
    path = predictions(live, tmp_path)
    args = ("submit", str(path), "--phase", str(live.world.phase_id), "--wait", "--poll", "0.05")
    body = as_json(live(*args, "--description", "run 1", "--json", token=token))
    assert body["status"] == "finished"
    assert body["description"] == "run 1"
    assert set(body["scores"]) == SCORES
    shown = live(*args, token=token)
    assert shown.exit_code == 0, shown.output
    assert "finished" in shown.stdout
    assert "mae=" in shown.stdout and "expression_bias=" in shown.stdout


def test_a_rejected_file_exits_2_with_the_servers_message(live: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,age\nnobody,3\n")
    result = live(
        "submit", str(bad), "--phase", str(live.world.phase_id), "--json", token=participant(live)
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "invalid_submission_file"


def test_an_unknown_meta_key_exits_2(live: Cli, tmp_path: Path) -> None:
    path = predictions(live, tmp_path)
    phase = str(live.world.phase_id)
    result = live("submit", str(path), "--phase", phase, "--meta", "seed=1", token="x")
    assert result.exit_code == 2
    message = commands.BAD_META.format(item="seed=1", keys=", ".join(commands.META_KEYS))
    assert result.stderr.strip() == f"error: {message}"


def test_a_used_up_quota_exits_3_with_the_reset_time(live: Cli, tmp_path: Path) -> None:
    live.world.update_phase(daily_limit=1)
    token = participant(live)
    path = predictions(live, tmp_path)
    phase = str(live.world.phase_id)
    assert live("submit", str(path), "--phase", phase, token=token).exit_code == 0
    refused = live("submit", str(path), "--phase", phase, token=token)
    assert refused.exit_code == 3
    assert "resets at 20" in refused.stderr


def test_status_and_submissions_in_both_modes(live: Cli, tmp_path: Path) -> None:
    token = participant(live)
    made = as_json(
        live(
            "submit",
            str(predictions(live, tmp_path)),
            "--phase",
            str(live.world.phase_id),
            "--json",
            token=token,
        )
    )
    shown = as_json(live("status", str(made["id"]), "--json", token=token))
    assert (shown["id"], shown["status"]) == (made["id"], "finished")
    assert "scores: mae=" in live("status", str(made["id"]), token=token).stdout
    listed = as_json(
        live("submissions", "--phase", str(live.world.phase_id), "--json", token=token)
    )
    assert [s["id"] for s in listed] == [made["id"]]
    table = live("submissions", "--phase", str(live.world.phase_id), token=token)
    assert "p.csv" in table.stdout
    assert live("status", str(made["id"]), token=participant(live, "bob")).exit_code == 1


def test_leaderboard_as_table_json_and_csv(live: Cli, tmp_path: Path) -> None:
    token = participant(live)
    live(
        "submit", str(predictions(live, tmp_path)), "--phase", str(live.world.phase_id), token=token
    )
    phase = str(live.world.phase_id)
    rows = as_json(live("leaderboard", "--phase", phase, "--json"))
    assert [r["participant"] for r in rows] == ["alice"]
    assert "alice" in live("leaderboard", "--phase", phase).stdout
    csv = live("leaderboard", "--phase", phase, "--csv")
    assert csv.exit_code == 0
    assert csv.stdout.splitlines()[0].startswith("position,")


def test_download_writes_the_file_as_uploaded(live: Cli, tmp_path: Path) -> None:
    token = participant(live)
    path = predictions(live, tmp_path)
    phase = str(live.world.phase_id)
    made = as_json(live("submit", str(path), "--phase", phase, "--json", token=token))
    out = tmp_path / "out"
    out.mkdir()
    body = as_json(live("download", str(made["id"]), "-o", str(out), "--json", token=token))
    assert Path(body["path"]).read_bytes() == path.read_bytes()
    shown = live("download", str(made["id"]), "-o", str(tmp_path / "copy.csv"), token=token)
    assert shown.stdout.startswith("saved ")
    assert (tmp_path / "copy.csv").read_bytes() == path.read_bytes()


def test_an_unreachable_server_exits_1(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    env = {"FAIRBOARD_URL": "http://127.0.0.1:9", "XDG_CONFIG_HOME": str(tmp_path)}
    result = CliRunner().invoke(cli, ["competitions"], env=env)
    assert result.exit_code == 1
    assert "cannot reach the Fairboard server at http://127.0.0.1:9" in result.stderr


def test_server_commands_are_still_there() -> None:
    from app.cli import RoleChoice, cli
    from app.models import Role

    names = {command.name or command.callback.__name__ for command in cli.registered_commands}
    assert {"migrate", "demo", "serve", "create-user", "worker", "login", "submit"} <= {
        name.replace("_", "-") for name in names
    }
    assert [r.value for r in RoleChoice] == [r.value for r in Role]


def test_environment_overrides_the_stored_login(live: Cli) -> None:
    live.world.user("alice")
    as_json(live("login", "--username", "alice", "--json", input=f"{PASSWORD}\n"))
    bob = participant(live, "bob")
    env = live.env(bob)
    assert env["FAIRBOARD_TOKEN"] == bob
    listed = live("submissions", "--phase", str(live.world.phase_id), "--json", token=bob)
    assert as_json(listed) == []
    assert os.environ.get("FAIRBOARD_TOKEN") in (None, "")


def test_submit_a_model_and_wait_follows_it_to_its_scores(live: Cli, tmp_path: Path) -> None:
    from scoring.inference.builders import build_red_mean_model

    model = tmp_path / "model.onnx"
    model.write_bytes(build_red_mean_model())
    args = ("submit", str(model), "--phase", str(live.world.phase_id), "--wait", "--poll", "0.05")
    body = as_json(live(*args, "--meta", "preset=raw", "--json", token=participant(live)))
    assert (body["kind"], body["status"], set(body["scores"])) == ("model", "finished", SCORES)
    assert body["progress"]["done"] == body["progress"]["total"] > 0


def test_waiting_on_a_model_that_fails_prints_the_error_and_exits_2(
    live: Cli, tmp_path: Path
) -> None:
    from tests.scoring.inference.models import runtime_error_model

    model = tmp_path / "broken.onnx"
    model.write_bytes(runtime_error_model())
    args = ("submit", str(model), "--phase", str(live.world.phase_id), "--wait", "--poll", "0.05")
    result = live(*args, token=participant(live))
    assert result.exit_code == 2
    assert ": failed" in result.stdout
    assert "error: " in result.stdout
