"""A 10,000-entry leaderboard served from its snapshot (issue 15, goal 3), measured side by side
in one run against static files of the same bytes served by the same server.

One real server (uvicorn, SQLite, the whole app with its middleware) also mounts a folder of
static files. The script seeds a phase with 10,000 participants, one scored entry each, views
the board once (which builds and stores its snapshot), then saves the first, middle and last
HTML page and the whole JSON board as static files. Each round then GETs every dynamic page
and its static twin in turn (which goes first alternates from round to round), plus a
conditional GET (``If-None-Match``) of the page, answered 304, against the static file's own
304; the whole JSON board then has rounds of its own. Medians of the rounds, and each ratio
next to its target (any view at most 1.5x its static twin). A last line times the floor: a
route that only has the page's dependencies (database session, optional viewer) and answers
page 1's bytes. The client asks for gzip as browsers do (httpx's default).

Run: .venv/bin/python bench/bench_leaderboard.py [--rounds 60] [--entries 10000]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db import Database  # noqa: E402
from app.deps import OptionalUser, SessionDep  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.security import hash_password  # noqa: E402
from app.services import inputs, testsets  # noqa: E402
from scoring.metrics import score  # noqa: E402
from scoring.synthetic import make_testset  # noqa: E402
from tests.support.crowd import add_crowd  # noqa: E402
from tests.support.seeding import open_phase, seed_competition  # noqa: E402

TARGET = 1.5
PASSWORD = "benchmark-password"
STATIC_PATH = "/bench-static"
FLOOR_PATH = "/bench/floor"


def serve(port: int, static_dir: str) -> None:
    """The server process: the real app, plus the static twins under ``STATIC_PATH`` and the
    floor: a route with the page's dependencies (a database session, the optional viewer)
    that answers page 1's bytes from memory without reading anything."""
    import uvicorn
    from fastapi.responses import Response
    from fastapi.staticfiles import StaticFiles

    from app.config import get_settings
    from app.main import create_app, serving

    app = create_app(get_settings())

    @app.get(FLOOR_PATH)
    def floor(session: SessionDep, user: OptionalUser) -> Response:
        if not kept:
            kept.append((Path(static_dir) / "view0.html").read_bytes())
        return Response(kept[0], media_type="text/html")

    kept: list[bytes] = []
    app.mount(STATIC_PATH, StaticFiles(directory=static_dir), name="bench-static")
    uvicorn.run(serving(app), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(settings: Settings, source: Path, entries: int) -> int:
    """A competition whose one phase has ``entries`` participants with one entry each."""
    db = Database(settings.database_url)
    upgrade(db.engine)
    with db.transaction() as session:
        seeded = seed_competition(
            session,
            settings,
            source,
            password=PASSWORD,
            title="Bench",
            testset_name="bench",
            phases=[open_phase(name="Big", daily_limit=None)],
        )
        truth = testsets.load_truth(settings, seeded.testset)
        inputs_source = inputs.Source.of(settings, seeded.testset)
        add_crowd(
            session,
            competition_id=seeded.competition.id,
            phase_id=seeded.phases[0].id,
            count=entries,
            password_hash=hash_password(PASSWORD),
            report=score(truth, truth.age + 2.0).to_dict(),
        )
        phase_id = seeded.phases[0].id
    db.dispose()
    # The steady state: the test inputs are built. Left to the server's start-up thread, the
    # build would compete with the measured requests for the cores and the GIL.
    inputs.build(inputs_source, wait=True)
    return phase_id


def timed(get: Callable[[], httpx.Response], status: int) -> float:
    start = time.perf_counter()
    response = get()
    elapsed = time.perf_counter() - start
    assert response.status_code == status, (response.status_code, response.url)
    return elapsed


def pair(
    dynamic_first: bool,
    served: tuple[list[float], Callable[[], httpx.Response]],
    twin: tuple[list[float], Callable[[], httpx.Response]],
    status: int = 200,
) -> None:
    """Time a dynamic view and its static twin, in the order asked."""
    for times, get in (served, twin) if dynamic_first else (twin, served):
        times.append(timed(get, status))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "STATIC_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    with tempfile.TemporaryDirectory(prefix="fairboard-bench-board-") as tmp:
        root = Path(tmp)
        source = make_testset(root / "source", n=200, seed=0, image_size=(16, 16))
        settings = Settings(
            database_url=f"sqlite:///{root}/bench.db", data_dir=root / "data", secret_key="bench"
        )
        print(f"seeding {args.entries:,} entries ...", flush=True)
        phase_id = seed(settings, source, args.entries)
        static = root / "static"
        static.mkdir()
        port = free_port()
        env = os.environ | {
            "FAIRBOARD_DATABASE_URL": settings.database_url,
            "FAIRBOARD_DATA_DIR": str(settings.data_dir),
            "FAIRBOARD_SECRET_KEY": "bench",
            "PYTHONPATH": str(ROOT),
        }
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), str(static)], env=env
        )
        try:
            results = measure(f"http://127.0.0.1:{port}", phase_id, static, args)
        finally:
            server.terminate()
            server.wait(timeout=30)
    report(results, args)


Result = tuple[str, list[float], list[float], int]


def measure(base: str, phase_id: int, static: Path, args: argparse.Namespace) -> list[Result]:
    html = {"accept": "text/html"}
    last = -(-args.entries // 50)
    views = {
        "HTML page 1": f"/phases/{phase_id}/leaderboard",
        f"HTML page {last // 2}": f"/phases/{phase_id}/leaderboard?page={last // 2}",
        f"HTML page {last}": f"/phases/{phase_id}/leaderboard?page={last}",
        "JSON whole board": f"/api/v1/phases/{phase_id}/leaderboard",
    }
    with httpx.Client(base_url=base, timeout=120) as client:
        for _ in range(300):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        start = time.perf_counter()
        client.get(views["HTML page 1"], headers=html).raise_for_status()
        print(f"first view (builds the snapshot): {time.perf_counter() - start:.2f} s", flush=True)
        twins = {}
        for index, (label, url) in enumerate(views.items()):
            body = client.get(url, headers=html).content
            name = f"view{index}.json" if label.startswith("JSON") else f"view{index}.html"
            (static / name).write_bytes(body)
            twins[label] = (url, f"{STATIC_PATH}/{name}", len(body))
        page_tag = client.get(views["HTML page 1"], headers=html).headers["etag"]
        static_tag = client.get(twins["HTML page 1"][1]).headers["etag"]
        results: list[Result] = [(label, [], [], size) for label, (_, _, size) in twins.items()]
        not_modified: Result = ("304 of page 1", [], [], 0)
        floor: Result = ("floor (deps only)", [], [], twins["HTML page 1"][2])
        page_1, twin_1 = views["HTML page 1"], twins["HTML page 1"][1]
        pages = [result for result in results if not result[0].startswith("JSON")]
        for round_number in range(args.rounds):
            # Who goes first alternates, so what the request before leaves behind falls on
            # both of a pair alike.
            first = round_number % 2 == 0
            for label, dynamic, plain, _size in pages:
                url, twin, _ = twins[label]
                pair(
                    first,
                    (dynamic, partial(client.get, url, headers=html)),
                    (plain, partial(client.get, twin)),
                )
            pair(
                first,
                (
                    not_modified[1],
                    lambda: client.get(page_1, headers=html | {"if-none-match": page_tag}),
                ),
                (
                    not_modified[2],
                    lambda: client.get(twin_1, headers={"if-none-match": static_tag}),
                ),
                status=304,
            )
            pair(
                first,
                (floor[1], lambda: client.get(FLOOR_PATH)),
                (floor[2], lambda: client.get(twin_1)),
            )
        # The whole JSON board in rounds of its own: compressing 4.5 MB (either twin) leaves the
        # next two or three requests of any kind about a millisecond slower.
        for label, dynamic, plain, _size in results:
            if label.startswith("JSON"):
                url, twin, _ = twins[label]
                for round_number in range(args.rounds):
                    pair(
                        round_number % 2 == 0,
                        (dynamic, partial(client.get, url, headers=html)),
                        (plain, partial(client.get, twin)),
                    )
    return [*results, not_modified, floor]


def report(results: list[Result], args: argparse.Namespace) -> None:
    print()
    print(f"Leaderboard of {args.entries:,} entries, {args.rounds} rounds, medians")
    print(f"{'view':<22}{'bytes':>10}{'served ms':>12}{'static ms':>12}{'ratio':>9}  target")
    for label, dynamic, plain, size in results:
        served, twin = statistics.median(dynamic), statistics.median(plain)
        ratio = served / twin
        verdict = "ok" if ratio <= TARGET else "over"
        print(
            f"{label:<22}{size:>10,}{served * 1000:>12.2f}{twin * 1000:>12.2f}{ratio:>8.2f}x"
            f"  <= {TARGET}x {verdict}"
        )


if __name__ == "__main__":
    main()
