"""Service benchmarks (issue 3), measured side by side in one run against a real server.

1. End-to-end latency of a 1,978-row prediction-file submission — HTTP upload until the
   leaderboard shows the new entry — against a no-op POST of the same file to the same server.
2. The leaderboard (HTML page and JSON) of a phase with 1,000 participants and 10,000
   submissions, against a trivial GET (/healthz) on the same server.

The submission is also timed up to its 201 alone (``POST alone``): the rest is the
leaderboard read that shows it. A lower bound is timed beside them: the same upload to a route
that only parses and scores it (no database), then the cheapest read (``/healthz``). What it
leaves of goal 1's 3x is all any implementation has for the account, the quota, the record,
the stored file, the response and the leaderboard. ``--profile out.svg`` (or ``.txt``:
collapsed stacks) records the server under py-spy while it takes the submissions
(``pip install -e .[bench]``).

Run: .venv/bin/python bench/bench_service.py [--rounds 30] [--profile profile.svg]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db import Database, utcnow  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import (  # noqa: E402
    Participation,
    Role,
    Split,
    Submission,
    SubmissionKind,
    SubmissionScore,
    SubmissionStatus,
    User,
)
from app.services import accounts, competitions, inputs, testsets  # noqa: E402
from scoring.metrics import score  # noqa: E402
from scoring.synthetic import make_testset  # noqa: E402
from tests.support.seeding import open_phase, seed_competition  # noqa: E402

PASSWORD = "benchmark-password"
TARGET_RATIO, STRETCH_RATIO = 3.0, 1.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(settings: Settings, source: Path) -> tuple[int, int, tuple[str, ...]]:
    """Two phases on the 1,978-item synthetic set: one empty, one with 1,000 x 10 entries."""
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
            phases=[
                open_phase(name="Live", daily_limit=None),
                open_phase(name="Big", daily_limit=None),
            ],
        )
        testset, competition = seeded.testset, seeded.competition
        live, big = seeded.phases
        bencher = accounts.register(
            session, username="bencher", password=PASSWORD, email="b@example.org"
        )
        competitions.join(session, competition, bencher)
        ids = testsets.load_truth(settings, testset).ids
        inputs_source = inputs.Source.of(settings, testset)
        live_id, big_id, competition_id = live.id, big.id, competition.id
        password_hash = bencher.password_hash
        truth = testsets.load_truth(settings, testset)
        report = score(truth, truth.age + np.random.default_rng(2).normal(0, 5, len(truth)))
    _fill_big_phase(db, big_id, competition_id, password_hash, report.to_dict())
    db.dispose()
    # The steady state: the test inputs are built. Left to the server's start-up thread, the
    # build would compete with the measured requests for the cores and the GIL.
    inputs.build(inputs_source, wait=True)
    return live_id, big_id, ids


def _fill_big_phase(
    db: Database, phase_id: int, competition_id: int, password_hash: str, report: dict[str, Any]
) -> None:
    rng = np.random.default_rng(0)
    now = utcnow()
    with db.transaction() as session:
        users = [
            {
                "username": f"p{i:04d}",
                "email": f"p{i}@example.org",
                "password_hash": password_hash,
                "role": Role.PARTICIPANT,
                "is_active": True,
                "created_at": now,
            }
            for i in range(1000)
        ]
        session.execute(insert(User), users)
        user_ids = [u.id for u in session.query(User.id).filter(User.username.like("p%")).all()]
        session.execute(
            insert(Participation),
            [
                {
                    "competition_id": competition_id,
                    "user_id": uid,
                    "joined_at": now,
                    "submission_counter": 0,
                }
                for uid in user_ids
            ],
        )
        submissions = []
        for k in range(10):
            for uid in user_ids:
                submissions.append(
                    {
                        "phase_id": phase_id,
                        "user_id": uid,
                        "kind": SubmissionKind.PREDICTIONS,
                        "status": SubmissionStatus.FINISHED,
                        "description": "",
                        "filename": "p.csv",
                        "created_at": now
                        - timedelta(minutes=10 * (10 - k))
                        + timedelta(seconds=uid),
                        "size_bytes": 1,
                        "sha256": "",
                        "preset": "raw",
                        "output_scale": 1.0,
                        "attempts": 1,
                        "progress_done": 0,
                        "progress_total": 0,
                        "is_chosen": False,
                        "is_hidden": False,
                        "is_baseline": False,
                    }
                )
        session.execute(insert(Submission), submissions)
        sub_ids = [
            s.id for s in session.query(Submission.id).filter(Submission.phase_id == phase_id)
        ]
        values = rng.uniform(0.5, 12.0, size=(len(sub_ids), 5))
        session.execute(
            insert(SubmissionScore),
            [
                {
                    "submission_id": sid,
                    "split": Split.PUBLIC,
                    "mae": v[0],
                    "age_bias": v[1],
                    "gender_bias": v[2],
                    "ethnicity_bias": v[3],
                    "expression_bias": v[4],
                    "report": report,
                    "created_at": now,
                }
                for sid, v in zip(sub_ids, values, strict=True)
            ],
        )


def _start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the server while it takes the submissions (``pip install py-spy``)."""
    py_spy = Path(sys.executable).parent / "py-spy"
    command = [str(py_spy), "record", "--pid", str(pid), "--rate", "250", "-o", str(out)]
    profiler = subprocess.Popen([*command, "--format", _format(out)])
    time.sleep(1)
    return profiler


def _format(out: Path) -> str:
    return {".json": "speedscope", ".txt": "raw"}.get(out.suffix, "flamegraph")


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--profile", type=Path, help="record a py-spy flame graph of the server to this SVG"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fairboard-bench-") as tmp:
        root = Path(tmp)
        print("generating the 1,978-item synthetic test set ...", flush=True)
        source = make_testset(root / "source", n=1978, seed=0, image_size=(32, 32))
        settings = Settings(
            database_url=f"sqlite:///{root}/bench.db", data_dir=root / "data", secret_key="bench"
        )
        live_id, big_id, ids = seed(settings, source)
        port = free_port()
        env = os.environ | {
            "FAIRBOARD_DATABASE_URL": settings.database_url,
            "FAIRBOARD_DATA_DIR": str(settings.data_dir),
            "FAIRBOARD_SECRET_KEY": "bench",
            "PYTHONPATH": str(ROOT),
        }
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "_bench_server.py"), str(port)], env=env
        )
        profiler = None
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=60) as client:
                for _ in range(200):
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                token = client.post(
                    "/api/v1/auth/token", json={"username": "bencher", "password": PASSWORD}
                ).json()["token"]
                headers = {"Authorization": f"Bearer {token}"}
                rng = np.random.default_rng(1)
                files = []
                for _ in range(args.rounds):
                    values = rng.uniform(5, 80, len(ids))
                    files.append(
                        (
                            "id,age\n"
                            + "".join(f"{i},{v:.4f}\n" for i, v in zip(ids, values, strict=True))
                        ).encode()
                    )
                print(f"prediction file: {len(files[0]):,} bytes, {len(ids):,} rows", flush=True)
                submit_times, noop_times, post_times = [], [], []
                compute_times, bound_times = [], []
                if args.profile:
                    profiler = _start_profiler(server.pid, args.profile)
                for round_, content in enumerate(files):
                    start = time.perf_counter()
                    client.post(
                        "/bench/noop", files={"file": ("predictions.csv", content)}, headers=headers
                    ).raise_for_status()
                    noop_times.append(time.perf_counter() - start)

                    start = time.perf_counter()
                    client.post(
                        f"/bench/compute/{live_id}",
                        files={"file": ("predictions.csv", content)},
                        headers=headers,
                    ).raise_for_status()
                    compute_times.append(time.perf_counter() - start)
                    client.get("/healthz").raise_for_status()
                    bound_times.append(time.perf_counter() - start)

                    start = time.perf_counter()
                    response = client.post(
                        f"/api/v1/phases/{live_id}/submissions",
                        files={"file": ("predictions.csv", content)},
                        headers=headers,
                    )
                    response.raise_for_status()
                    post_times.append(time.perf_counter() - start)
                    submission_id = response.json()["id"]
                    while True:
                        rows = client.get(f"/api/v1/phases/{live_id}/leaderboard").json()
                        if rows and rows[0]["submission_id"] == submission_id:
                            break
                    submit_times.append(time.perf_counter() - start)
                    assert len(rows) == 1 and rows[0]["entries"] == round_ + 1
                if profiler is not None:
                    profiler.send_signal(signal.SIGINT)
                    profiler.wait(timeout=60)
                    profiler = None

                page_times, tradeoff_times, json_times, health_times = [], [], [], []
                for _ in range(max(5, args.rounds // 3)):
                    start = time.perf_counter()
                    client.get("/healthz").raise_for_status()
                    health_times.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    page = client.get(
                        f"/phases/{big_id}/leaderboard", headers={"accept": "text/html"}
                    )
                    page.raise_for_status()
                    page_times.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    tradeoff = client.get(
                        f"/phases/{big_id}/leaderboard?view=tradeoff",
                        headers={"accept": "text/html"},
                    )
                    tradeoff.raise_for_status()
                    tradeoff_times.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    board = client.get(f"/api/v1/phases/{big_id}/leaderboard")
                    board.raise_for_status()
                    json_times.append(time.perf_counter() - start)
                assert len(board.json()) == 1000
        finally:
            if profiler is not None:
                profiler.kill()
            server.terminate()
            server.wait(timeout=30)

    print()
    print("1) 1,978-row prediction file: upload -> scored -> leaderboard shows it")
    print(f"   no-op POST of the same file   median {median_ms(noop_times):8.2f} ms")
    print(f"   parse + score only (no DB)    median {median_ms(compute_times):8.2f} ms")
    print(f"   that + GET /healthz           median {median_ms(bound_times):8.2f} ms")
    print(f"   submission POST alone         median {median_ms(post_times):8.2f} ms")
    print(f"   submission to leaderboard     median {median_ms(submit_times):8.2f} ms")
    ratio = statistics.median(submit_times) / statistics.median(noop_times)
    post_ratio = statistics.median(post_times) / statistics.median(noop_times)
    bound = statistics.median(bound_times) / statistics.median(noop_times)
    budget = TARGET_RATIO * statistics.median(noop_times) - statistics.median(bound_times)
    print(
        f"   lower bound / no-op           {bound:8.2f}x"
        f"  (leaves {budget * 1000:.2f} ms of goal 1's {TARGET_RATIO:.0f}x for everything else)"
    )
    print(f"   ratio POST alone / no-op      {post_ratio:8.2f}x")
    print(
        f"   ratio submission / no-op      {ratio:8.2f}x"
        f"  (issue 15 goal 1: <= {TARGET_RATIO:.0f}x, stretch {STRETCH_RATIO}x)"
    )
    print("2) leaderboard of 1,000 participants, 10,000 submissions")
    print(f"   GET /healthz                  median {median_ms(health_times):8.2f} ms")
    print(
        f"   JSON /api/v1/.../leaderboard  median {median_ms(json_times):8.2f} ms"
        f"  ({statistics.median(json_times) / statistics.median(health_times):.1f}x healthz)"
    )
    for label, times, response in (
        ("HTML /phases/.../leaderboard ", page_times, page),
        ("HTML  ...?view=tradeoff      ", tradeoff_times, tradeoff),
    ):
        print(
            f"   {label} median {median_ms(times):8.2f} ms"
            f"  ({statistics.median(times) / statistics.median(health_times):.1f}x healthz)"
            f"  {len(response.content) / 1e6:.2f} MB, {response.num_bytes_downloaded / 1e6:.2f} MB"
            f" sent ({response.headers.get('content-encoding', 'identity')})"
        )


if __name__ == "__main__":
    main()
