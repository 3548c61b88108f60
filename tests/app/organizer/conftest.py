"""Helpers for the organizer tests: test-set zips in every layout, built from the synthetic
generator, and small API shortcuts."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.app.conftest import PASSWORD, World, prediction_csv
from tests.support.pages import csrf_of

ZipFiles = dict[str, bytes]


def folder_files(folder: Path) -> ZipFiles:
    """Every file under ``folder`` by its POSIX path relative to it."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def zip_bytes(
    files: Mapping[str, bytes | str], *, root: str = "", compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in files.items():
            archive.writestr(root + name, content)
    return buffer.getvalue()


def read_labels_rows(files: ZipFiles) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files["labels.csv"].decode())))


def write_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def generic_files(source: Path) -> ZipFiles:
    """The synthetic set as generated: labels.csv, images/<id>.png, SYNTHETIC.txt."""
    return folder_files(source)


def appa_real_files(source: Path) -> ZipFiles:
    """The synthetic set in the APPA-REAL release layout, face crops as JPEG."""
    files = folder_files(source)
    rows = read_labels_rows(files)
    gt = write_csv(
        ["file_name", "num_ratings", "apparent_age_avg", "apparent_age_std", "real_age"],
        [[r["id"], 40, r["age"], 3.5, r["real_age"]] for r in rows],
    )
    categories = write_csv(
        ["file", "gender", "race", "makeup", "time", "happiness"],
        # Reversed order and upper case: the import must match rows by file name, any case.
        [
            [
                r["id"],
                r["gender"].upper(),
                r["ethnicity"],
                "nomakeup",
                "modernphoto",
                r["expression"],
            ]
            for r in reversed(rows)
        ],
    )
    out: ZipFiles = {"gt_avg_test.csv": gt, "allcategories_test.csv": categories}
    for row in rows:
        buffer = io.BytesIO()
        Image.open(io.BytesIO(files[f"images/{row['id']}"])).convert("RGB").save(buffer, "JPEG")
        out[f"test/{row['id']}_face.jpg"] = buffer.getvalue()
    return out


def array_files(source: Path) -> ZipFiles:
    """The synthetic set in the course's array layout: images.npy plus labels.csv."""
    files = folder_files(source)
    rows = read_labels_rows(files)
    images = np.stack(
        [
            np.asarray(Image.open(io.BytesIO(files[f"images/{r['id']}"])).convert("RGB"))
            for r in rows
        ]
    ).astype(np.uint8)
    buffer = io.BytesIO()
    np.save(buffer, images)
    return {"labels.csv": files["labels.csv"], "images.npy": buffer.getvalue()}


def upload_testset(
    client: TestClient,
    headers: dict[str, str],
    content: bytes,
    filename: str = "testset.zip",
    **form: Any,
) -> Any:
    data = {"image_height": "32", "image_width": "32"} | {k: str(v) for k, v in form.items()}
    return client.post(
        "/api/v1/testsets",
        files={"file": (filename, content, "application/zip")},
        data=data,
        headers=headers,
    )


def submit(
    client: TestClient,
    world: World,
    headers: dict[str, str],
    values: Any,
    phase_id: int | None = None,
    ids: tuple[str, ...] | None = None,
) -> Any:
    content = prediction_csv(ids or world.truth().ids, values)
    return client.post(
        f"/api/v1/phases/{phase_id or world.phase_id}/submissions",
        files={"file": ("predictions.csv", content, "text/csv")},
        headers=headers,
    )


@pytest.fixture
def organizer_headers(world: World) -> dict[str, str]:
    return world.headers(world.organizer)


def log_in(client: TestClient, username: str) -> None:
    """Log in through the form, as a browser would; the client keeps the session cookie."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
    )
    assert response.status_code == 200, response.text
