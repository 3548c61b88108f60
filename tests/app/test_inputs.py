"""The test inputs of a phase: two files built once per test-set version (on registration and
at start-up, never on a participant's click), atomically whatever else builds them, their size
and sha256 on the page and in the API, 503 while they are prepared, and ranged downloads."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from jinja2.filters import do_filesizeformat
from PIL import Image

from app.main import create_app
from app.models import TestSetVersion
from app.services import inputs, testsets
from tests.app.conftest import World
from tests.app.test_pages import log_in, page
from tests.support.pages import csrf_of


def source_of(world: World) -> inputs.Source:
    with world.db.sessionmaker() as session:
        testset = session.get(TestSetVersion, world.testset_id)
        assert testset is not None
        return inputs.Source.of(world.settings, testset)


def state_of(world: World) -> inputs.InputsState:
    with world.db.sessionmaker() as session:
        testset = session.get(TestSetVersion, world.testset_id)
        assert testset is not None
        return inputs.state_of(world.settings, testset)


def stored_images(world: World) -> np.ndarray:
    return np.load(source_of(world).folder / "images.npy")


def url(world: World, kind: inputs.InputsKind = "archive") -> str:
    return f"/api/v1/phases/{world.phase_id}/{inputs.FORMATS[kind].url_path}"


@pytest.fixture
def built(world: World) -> inputs.InputsState:
    inputs.build(source_of(world), wait=True)
    return state_of(world)


# ---- What is built ---------------------------------------------------------------------------


def test_the_archive_holds_ids_a_readme_and_one_stored_png_per_item_and_no_labels(
    world: World, built: inputs.InputsState
) -> None:
    assert built.archive is not None
    truth = world.truth()
    with zipfile.ZipFile(built.archive.path) as archive:
        names = archive.namelist()
        assert names[:2] == ["ids.csv", "README.txt"]
        assert names[2:] == [f"images/{inputs.image_name(i)}" for i in truth.ids]
        # PNG is compressed already: deflating it again costs time for nothing.
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
        ids_csv = archive.read("ids.csv").decode().splitlines()
        first = np.asarray(Image.open(io.BytesIO(archive.read(names[2]))))
    assert ids_csv[0] == "id,image"
    assert [line.split(",")[0] for line in ids_csv[1:]] == list(truth.ids)
    assert np.array_equal(first, stored_images(world)[0])


def test_the_array_is_a_separate_npz_of_the_same_pixels(
    world: World, built: inputs.InputsState
) -> None:
    assert built.array is not None
    with np.load(built.array.path) as loaded:
        assert list(loaded.keys()) == ["images"]
        assert np.array_equal(loaded["images"], stored_images(world))


def test_a_version_is_built_once_and_a_second_build_writes_nothing(world: World) -> None:
    first = inputs.build(source_of(world))
    assert [f.format.kind for f in first] == ["archive", "array"]
    stamps = [f.path.stat().st_mtime_ns for f in first]
    assert inputs.build(source_of(world)) == []
    assert [f.path.stat().st_mtime_ns for f in first] == stamps


def test_the_archive_of_the_former_layout_is_removed_once_replaced(world: World) -> None:
    legacy = source_of(world).folder / inputs.LEGACY_ARCHIVE
    legacy.write_bytes(b"PK old layout with images.npy inside")
    inputs.build(source_of(world))
    assert not legacy.exists()


def test_a_build_that_stops_midway_leaves_no_file_and_the_next_one_completes(
    world: World,
) -> None:
    calls = 0

    def crash() -> None:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise inputs.BuildStopped

    with pytest.raises(inputs.BuildStopped):
        inputs.build(source_of(world), stop=crash)
    folder = source_of(world).folder
    assert state_of(world) == inputs.InputsState(None, None)
    assert [p.name for p in folder.iterdir() if "test-" in p.name] == []
    inputs.build(source_of(world))
    assert None not in (state_of(world).archive, state_of(world).array)


def test_a_killed_builders_leftovers_are_removed_but_not_a_live_builders(world: World) -> None:
    folder = source_of(world).folder
    abandoned = folder / ".test-inputs.zip.dead.tmp"
    live = folder / ".test-inputs.zip.live.tmp"
    for leftover in (abandoned, live):
        leftover.write_bytes(b"PK half a zip")
    long_ago = time.time() - inputs.ABANDONED_AFTER_SECONDS - 60
    os.utime(abandoned, (long_ago, long_ago))
    inputs.build(source_of(world))
    assert not abandoned.exists()
    assert live.exists()


def test_a_builder_leaves_a_version_alone_while_another_holds_its_lock(world: World) -> None:
    with inputs._exclusive(source_of(world).folder) as held:
        assert held
        assert inputs.build(source_of(world)) == []
        assert state_of(world) == inputs.InputsState(None, None)
    assert len(inputs.build(source_of(world))) == 2


def test_builders_racing_without_the_lock_rename_identical_files(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextmanager
    def no_lock(folder: Path, *, wait: bool = False) -> Iterator[bool]:
        yield True

    monkeypatch.setattr(inputs, "_exclusive", no_lock)
    both_started = threading.Barrier(2, timeout=30)
    waited: set[int] = set()

    def overlap() -> None:
        if threading.get_ident() not in waited:  # both are writing before either renames
            waited.add(threading.get_ident())
            both_started.wait()

    results: list[list[inputs.BuiltFile]] = []
    source = source_of(world)
    threads = [
        threading.Thread(target=lambda: results.append(inputs.build(source, stop=overlap)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2
    assert [f.sha256 for f in results[0]] == [f.sha256 for f in results[1]]
    state = state_of(world)
    assert state.archive is not None and state.array is not None
    for ready in (state.archive, state.array):
        assert hashlib.sha256(ready.path.read_bytes()).hexdigest() == ready.sha256
    assert [p.name for p in source_of(world).folder.glob(".test-*")] == []


# ---- When it is built ------------------------------------------------------------------------


def test_uploading_a_test_set_builds_its_inputs_after_the_answer(
    client: TestClient, world: World, synthetic_source: Path
) -> None:
    from tests.app.organizer.conftest import generic_files, upload_testset, zip_bytes

    response = upload_testset(
        client, world.headers(world.organizer), zip_bytes(generic_files(synthetic_source))
    )
    assert response.status_code == 201, response.text
    with world.db.sessionmaker() as session:
        testset = testsets.get_testset(session, response.json()["id"])
        state = inputs.state_of(world.settings, testset)
    # The test client returns once the background task has run, as a server's client would
    # find it a little later.
    assert state.archive is not None and state.array is not None


def test_uploading_a_test_set_on_its_page_builds_its_inputs_too(
    site: TestClient, world: World, synthetic_source: Path
) -> None:
    from tests.app.organizer.conftest import generic_files, zip_bytes

    log_in(site, world.organizer.username)
    form = site.get("/organize/testsets")
    uploaded = site.post(
        "/organize/testsets",
        data={"csrf_token": csrf_of(form), "image_height": "32", "image_width": "32"},
        files={"file": ("hidden.zip", zip_bytes(generic_files(synthetic_source)))},
    )
    assert uploaded.status_code == 303, uploaded.text
    testset_id = int(uploaded.headers["location"].rsplit("/", 1)[1])
    with world.db.sessionmaker() as session:
        state = inputs.state_of(world.settings, testsets.get_testset(session, testset_id))
    assert state.archive is not None and state.array is not None


def test_start_up_builds_the_versions_that_lack_their_inputs(world: World) -> None:
    assert state_of(world) == inputs.InputsState(None, None)
    with TestClient(create_app(world.settings)):
        deadline = time.monotonic() + 60
        while None in (state_of(world).archive, state_of(world).array):
            assert time.monotonic() < deadline, "start-up did not build the inputs"
            time.sleep(0.05)


def test_shutting_down_stops_a_start_up_build_and_leaves_no_half_file(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing, release = threading.Event(), threading.Event()
    entry = inputs._entry

    def slow_entry(name: str, *args: Any) -> Any:
        if name.startswith("images/"):
            writing.set()
            release.wait(10)
        return entry(name, *args)

    monkeypatch.setattr(inputs, "_entry", slow_entry)
    builds = inputs.StartupBuilds([source_of(world)]).start()
    assert writing.wait(10)
    threading.Timer(0.2, release.set).start()  # the build goes on only once told to stop
    builds.stop(timeout=10)
    assert state_of(world) == inputs.InputsState(None, None)
    assert [p.name for p in source_of(world).folder.glob(".test-*")] == []


# ---- Downloading -----------------------------------------------------------------------------


def test_the_download_answers_503_with_retry_after_while_the_inputs_are_prepared(
    client: TestClient, world: World
) -> None:
    alice = world.headers(world.user("alice"))
    for kind in ("archive", "array"):
        response = client.get(url(world, kind), headers=alice)
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(inputs.RETRY_AFTER_SECONDS)
        assert response.json()["code"] == "inputs_preparing"
        assert response.json()["message"] == inputs.INPUTS_PREPARING.format(
            phase="Task 1", seconds=inputs.RETRY_AFTER_SECONDS
        )


def test_the_phase_shows_each_download_with_the_size_and_sha256_of_its_file(
    client: TestClient, world: World
) -> None:
    alice = world.headers(world.user("alice"))
    before = client.get(f"/api/v1/phases/{world.phase_id}", headers=alice).json()["inputs"]
    assert before["archive"] == {
        "url": url(world),
        "format": "zip",
        "ready": False,
        "bytes": None,
        "sha256": None,
    }
    inputs.build(source_of(world))
    after = client.get(f"/api/v1/phases/{world.phase_id}", headers=alice).json()["inputs"]
    for kind in ("archive", "array"):
        content = client.get(after[kind]["url"], headers=alice).content
        assert after[kind]["ready"] is True
        assert after[kind]["bytes"] == len(content)
        assert after[kind]["sha256"] == hashlib.sha256(content).hexdigest()


def test_only_those_who_may_download_see_the_inputs_in_the_phase(
    client: TestClient, world: World
) -> None:
    outsider = world.headers(world.user("outsider", join=False))
    phase_url = f"/api/v1/phases/{world.phase_id}"
    assert client.get(phase_url).json()["inputs"] is None
    assert client.get(phase_url, headers=outsider).json()["inputs"] is None
    world.update_phase(inputs_public=False)
    alice = world.headers(world.user("alice"))
    assert client.get(phase_url, headers=alice).json()["inputs"] is None
    organizer = client.get(phase_url, headers=world.headers(world.organizer)).json()
    assert organizer["inputs"]["archive"]["url"] == url(world)


def test_the_array_download_keeps_the_archives_access_rules(
    client: TestClient, world: World, built: inputs.InputsState
) -> None:
    outsider = world.headers(world.user("outsider", join=False))
    assert client.get(url(world, "array")).status_code == 401
    assert client.get(url(world, "array"), headers=outsider).status_code == 403
    world.update_phase(inputs_public=False)
    alice = world.headers(world.user("alice"))
    hidden = client.get(url(world, "array"), headers=alice)
    assert hidden.status_code == 403
    assert hidden.json()["message"] == inputs.INPUTS_HIDDEN.format(phase="Task 1")
    organizer = world.headers(world.organizer)
    assert client.get(url(world, "array"), headers=organizer).status_code == 200


def ranged(client: TestClient, world: World, **headers: str) -> Any:
    return client.get(url(world), headers=world.headers(world.organizer) | headers)


def test_a_broken_download_resumes_from_a_byte_range(
    client: TestClient, world: World, built: inputs.InputsState
) -> None:
    assert built.archive is not None
    whole = built.archive.path.read_bytes()
    full = ranged(client, world)
    assert full.status_code == 200 and full.content == whole
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["etag"] == built.archive.etag
    assert "last-modified" in full.headers
    assert full.headers["content-disposition"] == (
        f'attachment; filename="phase{world.phase_id}-test-inputs.zip"'
    )
    assert full.headers["x-content-type-options"] == "nosniff"
    rest = ranged(client, world, Range="bytes=1000-", **{"If-Range": built.archive.etag})
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes 1000-{len(whole) - 1}/{len(whole)}"
    assert whole[:1000] + rest.content == whole
    assert "content-encoding" not in rest.headers


def test_a_range_for_another_version_of_the_file_sends_it_whole(
    client: TestClient, world: World, built: inputs.InputsState
) -> None:
    assert built.archive is not None
    response = ranged(client, world, Range="bytes=1000-", **{"If-Range": '"an-older-build"'})
    assert response.status_code == 200
    assert len(response.content) == built.archive.bytes


def test_a_range_beyond_the_end_is_416_with_the_files_size(
    client: TestClient, world: World, built: inputs.InputsState
) -> None:
    assert built.archive is not None
    response = ranged(client, world, Range=f"bytes={built.archive.bytes}-")
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{built.archive.bytes}"


# ---- The page --------------------------------------------------------------------------------


def test_the_competition_page_says_the_inputs_are_prepared_then_shows_size_and_sha256(
    site: TestClient, world: World
) -> None:
    world.user("alice")
    log_in(site, "alice")
    preparing = page(site.get(f"/competitions/{world.competition_id}"))
    archive_item = preparing.find("li", **{"data-inputs": "archive"})
    assert "Test inputs (ZIP): being prepared" in archive_item.clean_text()
    assert url(world) not in str(site.get(f"/competitions/{world.competition_id}").text)
    inputs.build(source_of(world))
    state = state_of(world)
    assert state.archive is not None and state.array is not None
    shown = page(site.get(f"/competitions/{world.competition_id}"))
    for kind, ready, label in (
        ("archive", state.archive, "Test inputs (ZIP"),
        ("array", state.array, "Image array (NPZ"),
    ):
        item = shown.find("li", **{"data-inputs": kind})
        link = item.find("a")
        assert link.attrs["href"] == url(world, kind)
        assert link.clean_text() == f"{label}, {do_filesizeformat(ready.bytes)})"
        assert item.find("code").clean_text() == ready.sha256
