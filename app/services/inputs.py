"""The public test inputs of a phase: images without labels, as one zip built once."""

from __future__ import annotations

import csv
import io
import os
import threading
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from app.config import Settings
from app.models import TestSetVersion
from app.services import testsets

_build_lock = threading.Lock()
INPUTS_README = (
    "Test inputs of a Fairboard phase.\n"
    "ids.csv lists the items in canonical order (the order of legacy prediction files);\n"
    "images/ holds one PNG per item and images.npy the same pixels as one uint8 N x H x W x 3 "
    "RGB array.\nLabels are never distributed.\n"
)


def image_name(item_id: str) -> str:
    return item_id if item_id.lower().endswith(".png") else f"{item_id}.png"


def inputs_zip(settings: Settings, testset: TestSetVersion) -> Path:
    """The zip of a test set's inputs (ids.csv, images/, images.npy), built on first request."""
    folder = testsets.testset_dir(settings, testset)
    target = folder / "inputs.zip"
    if target.exists():
        return target
    with _build_lock:
        if target.exists():
            return target
        truth = testsets.load_truth(settings, testset)
        images = np.load(folder / "images.npy", mmap_mode="r")
        partial = folder / f".inputs-{os.getpid()}-{threading.get_ident()}.zip"
        try:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
                ids = io.StringIO()
                writer = csv.writer(ids, lineterminator="\n")
                writer.writerow(["id", "image"])
                for item_id in truth.ids:
                    writer.writerow([item_id, f"images/{image_name(item_id)}"])
                archive.writestr("ids.csv", ids.getvalue())
                archive.writestr("README.txt", INPUTS_README)
                for index, item_id in enumerate(truth.ids):
                    buffer = io.BytesIO()
                    Image.fromarray(np.asarray(images[index])).save(
                        buffer, format="PNG", compress_level=1
                    )
                    archive.writestr(f"images/{image_name(item_id)}", buffer.getvalue())
                with archive.open("images.npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, np.asarray(images), allow_pickle=False)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return target
