"""Uploading hidden test sets: every layout of SPEC §2 is imported with its report; every broken
upload is refused with the scoring engine's precise message and leaves nothing behind."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.models import AuditLogEntry, Role, TestSetVersion
from app.services import testsets
from app.storage import FILE_TOO_LARGE, human_bytes
from scoring import testset as ts
from scoring.testset import read_labels
from tests.app.conftest import World
from tests.app.organizer.conftest import (
    ZipFiles,
    appa_real_files,
    array_files,
    generic_files,
    log_in,
    read_labels_rows,
    upload_testset,
    write_csv,
    zip_bytes,
)


def summary(problems: list[str], where: str) -> str:
    """The message of a TestSetError with these problems (fewer than the listing limit)."""
    noun = "problem" if len(problems) == 1 else "problems"
    return ts.PROBLEMS.format(
        count=len(problems), noun=noun, where=where, listed="; ".join(problems)
    )


def stored_testsets(world: World) -> int:
    with world.db.sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(TestSetVersion)) or 0)


def leftovers(world: World) -> list[str]:
    """Anything an upload may have left: test-set folders (beyond the world's) and uploads."""
    settings = world.settings
    found = []
    with world.db.sessionmaker() as session:
        kept = {t.storage_key for t in session.scalars(select(TestSetVersion))}
    if settings.testsets_dir.exists():
        found += [p.name for p in settings.testsets_dir.iterdir() if p.name not in kept]
    if settings.uploads_dir.exists():
        found += [str(p.relative_to(settings.uploads_dir)) for p in settings.uploads_dir.rglob("*")]
    return found


@pytest.mark.parametrize(
    ("layout", "build", "root"),
    [
        ("generic", generic_files, ""),
        ("generic", generic_files, "release/"),
        ("appa-real", appa_real_files, ""),
        ("array", array_files, "course/"),
    ],
)
def test_each_layout_is_imported_with_its_report(
    client: TestClient,
    world: World,
    organizer_headers: dict[str, str],
    synthetic_source: Path,
    layout: str,
    build: Callable[[Path], ZipFiles],
    root: str,
) -> None:
    expected = read_labels(synthetic_source)
    response = upload_testset(
        client, organizer_headers, zip_bytes(build(synthetic_source), root=root), name="hidden v1"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["layout"] == layout
    assert body["n_items"] == len(expected)
    assert body["group_sizes"] == expected.group_sizes()
    assert body["fingerprint"] == expected.fingerprint()
    assert body["image_size"] == [32, 32]
    assert sum(body["source_image_sizes"].values()) == len(expected)
    assert body["name"] == "hidden v1"
    assert body["is_synthetic"] is (layout == "generic")  # the marker travels in that layout
    fetched = client.get(f"/api/v1/testsets/{body['id']}", headers=organizer_headers)
    assert fetched.json() == body
    assert leftovers(world) == []


def test_images_are_resized_and_their_source_sizes_reported(
    client: TestClient, world: World, organizer_headers: dict[str, str], synthetic_source: Path
) -> None:
    response = upload_testset(
        client,
        organizer_headers,
        zip_bytes(generic_files(synthetic_source)),
        image_height=16,
        image_width=24,
    )
    body = response.json()
    assert body["image_size"] == [16, 24]
    assert body["source_image_sizes"] == {"32x32": body["n_items"]}
    with world.db.sessionmaker() as session:
        testset = session.get(TestSetVersion, body["id"])
        assert testset is not None
        folder = world.settings.testsets_dir / testset.storage_key
    assert np.load(folder / "images.npy", mmap_mode="r").shape == (body["n_items"], 16, 24, 3)


def test_the_upload_is_recorded_in_the_audit_log(
    client: TestClient, world: World, organizer_headers: dict[str, str], synthetic_source: Path
) -> None:
    body = upload_testset(
        client, organizer_headers, zip_bytes(generic_files(synthetic_source))
    ).json()
    with world.db.sessionmaker() as session:
        entry = session.scalar(
            select(AuditLogEntry).where(AuditLogEntry.action == "testset.upload")
        )
    assert entry is not None
    assert entry.actor_id == world.organizer.id
    assert entry.details["fingerprint"] == body["fingerprint"]


def test_participants_cannot_upload_or_see_test_sets(
    client: TestClient, world: World, synthetic_source: Path
) -> None:
    alice = world.user("alice")
    response = upload_testset(
        client, world.headers(alice), zip_bytes(generic_files(synthetic_source))
    )
    assert response.status_code == 403
    assert response.json()["message"] == testsets.CANNOT_UPLOAD_TESTSET
    hidden = client.get(f"/api/v1/testsets/{world.testset_id}", headers=world.headers(alice))
    assert hidden.status_code == 404
    assert stored_testsets(world) == 1
    assert leftovers(world) == []


def test_another_organizer_cannot_read_a_test_set_by_id(client: TestClient, world: World) -> None:
    rival = world.user("rival", role=Role.ORGANIZER, join=False)
    url = f"/api/v1/testsets/{world.testset_id}"
    hidden = client.get(url, headers=world.headers(rival))
    assert hidden.status_code == 404
    assert hidden.json()["message"] == testsets.TESTSET_NOT_FOUND.format(id=world.testset_id)
    assert client.get("/api/v1/testsets", headers=world.headers(rival)).json() == []
    log_in(client, "rival")
    page = client.get(f"/organize/testsets/{world.testset_id}", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "testset-report" not in page.text


def test_a_co_organizer_reads_the_test_sets_their_competition_uses(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    assistant = world.user("assistant", role=Role.ORGANIZER, join=False)
    added = client.post(
        f"/api/v1/competitions/{world.competition_id}/organizers",
        json={"username": "assistant"},
        headers=organizer_headers,
    )
    assert added.status_code == 201, added.text
    shown = client.get(f"/api/v1/testsets/{world.testset_id}", headers=world.headers(assistant))
    assert shown.status_code == 200
    assert shown.json()["name"] == "synthetic"
    log_in(client, "assistant")
    page = client.get(f"/organize/testsets/{world.testset_id}", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert f'data-testset="{world.testset_id}"' in page.text


# --- Broken uploads ---------------------------------------------------------------------------


def _without_image(files: ZipFiles) -> tuple[ZipFiles, str]:
    first = read_labels_rows(files)[0]["id"]
    del files[f"images/{first}"]
    return files, ts.MISSING_IMAGE.format(row=1, id=first, path=f"images/{first}")


def _unknown_category(files: ZipFiles) -> tuple[ZipFiles, str]:
    rows = read_labels_rows(files)
    rows[2]["ethnicity"] = "martian"
    files["labels.csv"] = write_csv(list(rows[0]), [list(r.values()) for r in rows])
    return files, ts.UNKNOWN_VALUE.format(
        row=3, column="ethnicity", value="martian", expected="asian, afroamerican or caucasian"
    )


def _duplicated_id(files: ZipFiles) -> tuple[ZipFiles, str]:
    rows = read_labels_rows(files)
    rows[4]["id"] = rows[1]["id"]
    files["labels.csv"] = write_csv(list(rows[0]), [list(r.values()) for r in rows])
    return files, ts.DUPLICATE_ID.format(row=5, column="id", value=rows[1]["id"], first=2)


@pytest.mark.parametrize(
    ("break_it", "where"),
    [
        (_without_image, "images/"),
        (_unknown_category, "labels.csv"),
        (_duplicated_id, "labels.csv"),
    ],
)
def test_invalid_contents_are_refused_with_the_precise_problem(
    client: TestClient,
    world: World,
    organizer_headers: dict[str, str],
    synthetic_source: Path,
    break_it: Callable[[ZipFiles], tuple[ZipFiles, str]],
    where: str,
) -> None:
    files, problem = break_it(generic_files(synthetic_source))
    response = upload_testset(client, organizer_headers, zip_bytes(files))
    assert response.status_code == 422
    assert response.json() == {
        "code": "invalid_testset",
        "message": summary([problem], where),
    }
    assert stored_testsets(world) == 1
    assert leftovers(world) == []


def test_a_zip_with_dot_dot_paths_is_refused(
    client: TestClient, world: World, organizer_headers: dict[str, str], synthetic_source: Path
) -> None:
    files = generic_files(synthetic_source)
    files["../../etc/evil.txt"] = b"owned"
    response = upload_testset(client, organizer_headers, zip_bytes(files), filename="evil.zip")
    assert response.status_code == 422
    problem = ts.ZIP_UNSAFE_PATH.format(name="../../etc/evil.txt")
    assert response.json()["message"] == summary([problem], "evil.zip")
    assert not (world.settings.data_dir.parent / "etc").exists()
    assert leftovers(world) == []


def test_a_zip_bomb_by_compression_ratio_is_refused(
    client: TestClient, world: World, organizer_headers: dict[str, str], synthetic_source: Path
) -> None:
    files = generic_files(synthetic_source)
    files["padding.bin"] = bytes(64 * 2**20)  # 64 MiB of zeros deflate about 1000:1
    content = zip_bytes(files)
    info = zipfile.ZipFile(io.BytesIO(content)).getinfo("padding.bin")
    response = upload_testset(client, organizer_headers, content, filename="bomb.zip")
    assert response.status_code == 422
    problem = ts.ZIP_BOMB_RATIO.format(
        name="padding.bin",
        ratio=info.file_size / info.compress_size,
        size=info.file_size,
        compressed=info.compress_size,
        limit=ts.MAX_COMPRESSION_RATIO,
    )
    assert response.json()["message"] == summary([problem], "bomb.zip")
    assert leftovers(world) == []


def test_a_zip_bomb_by_total_size_is_refused(
    client: TestClient,
    world: World,
    organizer_headers: dict[str, str],
    synthetic_source: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = generic_files(synthetic_source)
    # 4 MiB of two-bit noise: compresses about 3:1, far from a suspicious ratio.
    files["notes.bin"] = (
        np.random.default_rng(0).integers(0, 4, 4 * 2**20, dtype=np.uint8).tobytes()
    )
    content = zip_bytes(files)
    total = sum(len(v) for v in files.values())
    limit = total - 1  # the upload fits; what it expands to does not
    assert len(content) < limit
    monkeypatch.setattr(world.settings, "max_testset_upload_bytes", limit)
    response = upload_testset(client, organizer_headers, content, filename="big.zip")
    assert response.status_code == 422
    problem = ts.ZIP_TOO_LARGE.format(total=total, limit=limit)
    assert response.json()["message"] == summary([problem], "big.zip")
    assert leftovers(world) == []


def test_an_upload_over_the_size_limit_is_refused_while_streaming(
    client: TestClient,
    world: World,
    organizer_headers: dict[str, str],
    synthetic_source: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(world.settings, "max_testset_upload_bytes", 1000)
    response = upload_testset(client, organizer_headers, zip_bytes(generic_files(synthetic_source)))
    assert response.status_code == 413
    assert response.json()["message"] == FILE_TOO_LARGE.format(
        what="the test set upload", limit=human_bytes(1000)
    )
    assert leftovers(world) == []


def test_a_truncated_zip_is_refused(
    client: TestClient, world: World, organizer_headers: dict[str, str], synthetic_source: Path
) -> None:
    content = zip_bytes(generic_files(synthetic_source))
    truncated = content[: len(content) // 2]
    response = upload_testset(client, organizer_headers, truncated, filename="cut.zip")
    assert response.status_code == 422
    with pytest.raises(zipfile.BadZipFile) as reason:
        zipfile.ZipFile(io.BytesIO(truncated))
    problem = ts.ZIP_CORRUPT.format(file="cut.zip", reason=reason.value)
    assert response.json()["message"] == problem
    assert stored_testsets(world) == 1
    assert leftovers(world) == []


def test_a_zip_whose_entries_are_corrupt_is_refused_without_leftovers(
    client: TestClient, world: World, organizer_headers: dict[str, str], synthetic_source: Path
) -> None:
    files = generic_files(synthetic_source)
    content = bytearray(zip_bytes(files, compression=zipfile.ZIP_DEFLATED))
    archive = zipfile.ZipFile(io.BytesIO(bytes(content)))
    last_image = [i for i in archive.infolist() if i.filename.startswith("images/")][-1]
    start = (
        last_image.header_offset + 30 + len(last_image.filename.encode()) + len(last_image.extra)
    )
    noise = np.random.default_rng(0).integers(0, 256, last_image.compress_size, dtype=np.uint8)
    content[start : start + last_image.compress_size] = noise.tobytes()
    response = upload_testset(client, organizer_headers, bytes(content), filename="damaged.zip")
    assert response.status_code == 422
    assert "damaged.zip" in response.json()["message"]
    assert last_image.filename in response.json()["message"]
    assert stored_testsets(world) == 1
    assert leftovers(world) == []


def test_an_unknown_layout_is_refused(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    response = upload_testset(
        client, organizer_headers, zip_bytes({"notes.txt": b"hello"}), filename="notes.zip"
    )
    assert response.status_code == 422
    assert response.json()["message"] == ts.UNKNOWN_LAYOUT.format(source="notes.zip")
    assert leftovers(world) == []


def test_an_image_size_out_of_range_is_refused(
    client: TestClient, world: World, organizer_headers: dict[str, str], synthetic_source: Path
) -> None:
    response = upload_testset(
        client, organizer_headers, zip_bytes(generic_files(synthetic_source)), image_height=4096
    )
    assert response.status_code == 422
    assert response.json()["message"] == testsets.IMAGE_SIZE_OUT_OF_RANGE.format(
        field="image_height",
        low=testsets.MIN_IMAGE_SIDE,
        high=testsets.MAX_IMAGE_SIDE,
        value=4096,
    )
    assert leftovers(world) == []
