"""Test-inputs benchmark (issue 15, goal 4), measured side by side in one run.

1. Size and build time of a phase's test inputs on the 1,978-image synthetic set (224 x 224):
   the former layout (one zip: PNGs at zlib level 1 plus an uncompressed images.npy repeating
   the pixels) against the current one (services.inputs: a zip of PNGs at PNG_COMPRESS_LEVEL,
   stored, and the array as a separate deflated .npz).
2. With --levels: the PNG compression levels on every tenth image, extrapolated (size, time).
3. Download throughput of the archive through its route (authentication, access rules,
   the manifest, FileResponse) against the same bytes as a static file on the same server.

Run: .venv/bin/python bench/bench_inputs.py [--n 1978] [--rounds 9] [--levels]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings, get_settings  # noqa: E402
from app.db import Database  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.services import inputs  # noqa: E402
from scoring.synthetic import make_testset  # noqa: E402
from scoring.testset import read_labels  # noqa: E402
from tests.support.seeding import open_phase, seed_competition  # noqa: E402

PASSWORD = "benchmark-password"
STATIC_PATH = "/bench/static"
TOKEN_URL = "/api/v1/auth/token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def former_layout(sink: BinaryIO, ids: list[str], images: np.ndarray) -> None:
    """The archive as it was built before: PNGs (level 1) and images.npy in one stored zip."""
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerows([["id", "image"], *([i, f"images/{i}.png"] for i in ids)])
        archive.writestr("ids.csv", text.getvalue())
        archive.writestr("README.txt", inputs.INPUTS_README)
        for index, item_id in enumerate(ids):
            png = io.BytesIO()
            Image.fromarray(np.asarray(images[index])).save(png, format="PNG", compress_level=1)
            archive.writestr(f"images/{item_id}.png", png.getvalue())
        with archive.open("images.npy", "w", force_zip64=True) as out:
            np.lib.format.write_array(out, np.asarray(images), allow_pickle=False)


def timed_write(path: Path, write: Callable[[BinaryIO], None]) -> tuple[int, float]:
    start = time.perf_counter()
    with path.open("wb") as sink:
        write(sink)
    return path.stat().st_size, time.perf_counter() - start


def png_levels(images: np.ndarray) -> None:
    sample = [np.asarray(images[i]) for i in range(0, len(images), 10)]
    scale = len(images) / len(sample)
    print("\nPNG options (every tenth image, extrapolated to the whole set):")
    for options in ({"compress_level": 1}, {"compress_level": 3}, {"compress_level": 6},
                    {"compress_level": 9}, {"optimize": True}):  # fmt: skip
        start, size = time.perf_counter(), 0
        for image in sample:
            png = io.BytesIO()
            Image.fromarray(image).save(png, format="PNG", **options)
            size += len(png.getvalue())
        seconds = (time.perf_counter() - start) * scale
        label = ", ".join(f"{k}={v}" for k, v in options.items())
        print(f"   {label:<18} {size * scale / 1e6:8.1f} MB  {seconds:7.1f} s")


def seed(settings: Settings, source: Path) -> tuple[int, Path]:
    """A competition whose one phase publishes the inputs; the phase id and the version's folder."""
    database = Database(settings.database_url)
    upgrade(database.engine)
    with database.transaction() as session:
        seeded = seed_competition(
            session,
            settings,
            source,
            password=PASSWORD,
            title="bench",
            phases=[open_phase(name="Inputs", inputs_public=True)],
        )
        phase_id = seeded.phases[0].id
        folder = inputs.Source.of(settings, seeded.testset).folder
    database.dispose()
    return phase_id, folder


def serve() -> None:
    """The server process: the real app plus the archive's bytes as a static file."""
    import uvicorn
    from fastapi.staticfiles import StaticFiles

    from app.main import create_app

    app = create_app(get_settings())
    app.mount(STATIC_PATH, StaticFiles(directory=os.environ["BENCH_STATIC_DIR"]))
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")


def download_seconds(client: httpx.Client, url: str, headers: dict[str, str]) -> tuple[float, int]:
    start, size = time.perf_counter(), 0
    with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(1 << 20):
            size += len(chunk)
    return time.perf_counter() - start, size


def throughput(settings: Settings, phase_id: int, archive: Path, rounds: int) -> None:
    static_dir = archive.parent.parent / "static"
    static_dir.mkdir()
    shutil.copyfile(archive, static_dir / "inputs.zip")
    port = free_port()
    env = os.environ | {
        "FAIRBOARD_DATABASE_URL": settings.database_url,
        "FAIRBOARD_DATA_DIR": str(settings.data_dir),
        "FAIRBOARD_SECRET_KEY": "bench",
        "BENCH_STATIC_DIR": str(static_dir),
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env)
    # Connection attempts are retried (with back-off) while the server starts.
    transport = httpx.HTTPTransport(retries=12)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=120, transport=transport
        ) as client:
            login = {"username": "lecturer", "password": PASSWORD}
            auth = {"Authorization": f"Bearer {client.post(TOKEN_URL, json=login).json()['token']}"}
            urls = {"route": (f"/api/v1/phases/{phase_id}/inputs", auth)}
            urls["static"] = (f"{STATIC_PATH}/inputs.zip", {})
            whole: dict[str, list[float]] = {"route": [], "static": []}
            first_byte: dict[str, list[float]] = {"route": [], "static": []}
            for round_ in range(rounds):
                # Alternate which goes first, so that neither always meets a warmer cache.
                for name in sorted(urls, reverse=bool(round_ % 2)):
                    url, headers = urls[name]
                    seconds, size = download_seconds(client, url, headers)
                    assert size == archive.stat().st_size
                    whole[name].append(seconds)
                    ranged = headers | {"Range": "bytes=0-0"}
                    first_byte[name].append(download_seconds(client, url, ranged)[0])
    finally:
        server.terminate()
        server.wait(30)
    megabytes = archive.stat().st_size / 1e6
    print(f"\nDownload of the archive ({megabytes:.1f} MB), median of {rounds}:")
    for label, name in (("static file (same server)", "static"), ("inputs route", "route")):
        seconds = statistics.median(whole[name])
        print(
            f"   {label:<27}{seconds * 1000:8.1f} ms  {megabytes / seconds:7.0f} MB/s"
            f"   one-byte range {statistics.median(first_byte[name]) * 1000:6.1f} ms"
        )
    ratio = statistics.median(whole["route"]) / statistics.median(whole["static"])
    print(f"   ratio route / static       {ratio:8.2f}x   (target <= 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1978)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--levels", action="store_true", help="also compare PNG levels")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fairboard-bench-") as tmp:
        root = Path(tmp)
        print(f"generating the {args.n:,}-item synthetic test set ...", flush=True)
        source = make_testset(root / "source", n=args.n, seed=0)
        settings = Settings(
            database_url=f"sqlite:///{root}/bench.db", data_dir=root / "data", secret_key="bench"
        )
        phase_id, folder = seed(settings, source)
        ids = list(read_labels(folder / "labels.csv").ids)
        images = np.load(folder / "images.npy", mmap_mode="r")
        print("building both layouts ...", flush=True)
        old_size, old_s = timed_write(root / "old.zip", lambda s: former_layout(s, ids, images))
        (root / "old.zip").unlink()
        never: Callable[[], None] = lambda: None  # noqa: E731
        zip_size, zip_s = timed_write(
            root / "new.zip", lambda s: inputs.write_archive(s, ids, images, never)
        )
        npz_size, npz_s = timed_write(
            root / "new.npz", lambda s: inputs.write_array(s, ids, images, never)
        )
        raw = images.nbytes
        print(f"\nTest inputs of {len(ids):,} images {images.shape[1]}x{images.shape[2]}:")
        print(f"   {'':<34}{'size':>10}  {'build':>8}")
        print(f"   {'former zip (PNGs + images.npy)':<34}{old_size / 1e6:7.1f} MB  {old_s:6.1f} s")
        print(f"   {'archive (PNGs, stored)':<34}{zip_size / 1e6:7.1f} MB  {zip_s:6.1f} s")
        print(f"   {'array (.npz, deflated)':<34}{npz_size / 1e6:7.1f} MB  {npz_s:6.1f} s")
        print(f"   {'array as a plain .npy':<34}{raw / 1e6:7.1f} MB")
        print(f"   ratio former / archive        {old_size / zip_size:6.2f}x smaller")
        print(f"   ratio .npy / .npz             {raw / npz_size:6.2f}x smaller")
        if args.levels:
            png_levels(images)
        built = inputs.build(inputs.Source(folder))
        archive = next(b.path for b in built if b.format.kind == "archive")
        throughput(settings, phase_id, archive, args.rounds)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve()
    else:
        main()
