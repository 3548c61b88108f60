"""Fairboard's sandboxed inference against a bare onnxruntime loop, in the same run.

A ResNet-50-shaped model (random weights, float32 NCHW, 224x224) runs over ``--n`` synthetic
images (default 2,000, the size of the course's hidden test set) twice:

* Fairboard: ``scoring.inference.run_model`` with the ``keras-resnet50`` preset, timed from
  the job's start (child process start-up, model checks, session creation included) to the
  predictions in the caller's hands;
* bare: one onnxruntime session in this process with the same session options, threads and
  batch size, looping over the images already loaded and preprocessed in memory; timed over
  the loop alone (and, for reference, with session creation).

It prints images/s for both and Fairboard's overhead over the bare loop (target: at most 10%
on CPU). On a busy, shared machine wall times are noisy: the CPU seconds (the child's for
Fairboard, this process's for the bare run, session creation included for both) are steadier,
and ``--repeat`` alternates the order of the two and keeps the best of each. The model
(about 94 MB) and the images are written to a temporary directory removed afterwards.

Usage::

    python bench/bench_inference.py                 # 2,000 images, CPU
    python bench/bench_inference.py --n 256         # a quick run
    python bench/bench_inference.py --provider cuda # on a GPU machine (onnxruntime-gpu)
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scoring.inference import InferenceLimits, Preset, run_model
from scoring.inference.builders import build_resnet50_like_model
from scoring.inference.contract import GIB, available_threads
from scoring.inference.preprocessing import BatchFeeder

PRESET: Preset = "keras-resnet50"


@dataclass(frozen=True)
class Run:
    """One timed run: wall seconds (total, and of the batch loop alone) and CPU seconds."""

    predictions: np.ndarray
    seconds: float
    loop_seconds: float
    cpu_seconds: float
    provider: str


def bare_loop(
    model: Path, images: np.ndarray, *, provider: str, threads: int, batch_size: int
) -> Run:
    """A bare onnxruntime loop in this process over batches preprocessed beforehand."""
    import onnxruntime as ort

    from scoring.inference.runtime import session_options

    providers = ["CPUExecutionProvider"]
    if provider == "cuda":
        providers.insert(0, "CUDAExecutionProvider")
    batches = [
        b.array.copy()
        for b in BatchFeeder(
            images, layout="NCHW", dtype="float32", preset=PRESET, batch_size=batch_size
        )
    ]
    cpu_started = time.process_time()
    started = time.perf_counter()
    session = ort.InferenceSession(
        model.read_bytes(), session_options(threads), providers=providers
    )
    created = time.perf_counter()
    name = session.get_inputs()[0].name
    outputs = [session.run(None, {name: batch})[0].reshape(-1) for batch in batches]
    finished = time.perf_counter()
    return Run(
        predictions=np.concatenate(outputs).astype(np.float64) * 100,
        seconds=finished - started,
        loop_seconds=finished - created,
        cpu_seconds=time.process_time() - cpu_started,
        provider=session.get_providers()[0],
    )


def fairboard_run(
    model: Path, images: Path, *, provider: str, threads: int, batch_size: int
) -> Run:
    """``run_model`` from job start to predictions; CPU seconds are the child's."""
    limits = InferenceLimits(wall_seconds=24 * 3600, memory_bytes=16 * GIB, threads=threads)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_model(
        model,
        images,
        preset=PRESET,
        output_scale=100,
        provider=provider,
        batch_size=batch_size,
        limits=limits,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(
        predictions=result.predictions,
        seconds=result.seconds,
        loop_seconds=result.inference_seconds,
        cpu_seconds=cpu,
        provider=result.execution_provider,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="number of images (default 2000)")
    parser.add_argument("--size", type=int, default=224, help="image height and width")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=available_threads())
    parser.add_argument("--provider", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best is kept")
    args = parser.parse_args(argv)
    options = {"provider": args.provider, "threads": args.threads, "batch_size": args.batch_size}

    fairboard: list[Run] = []
    bare: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="fairboard-bench-") as tmp:
        model = Path(tmp, "resnet50_like.onnx")
        started = time.perf_counter()
        build_resnet50_like_model(model, input_size=(args.size, args.size))
        print(
            f"model: ResNet-50-like, {model.stat().st_size / 1e6:.1f} MB, "
            f"built in {time.perf_counter() - started:.1f} s"
        )
        images = np.random.default_rng(0).integers(
            0, 256, (args.n, args.size, args.size, 3), dtype=np.uint8
        )
        np.save(Path(tmp, "images.npy"), images)
        for repeat in range(args.repeat):
            # Alternate the order so that neither side always runs on a warmer machine.
            sides = ("fairboard", "bare") if repeat % 2 == 0 else ("bare", "fairboard")
            for side in sides:
                if side == "fairboard":
                    fairboard.append(fairboard_run(model, Path(tmp, "images.npy"), **options))
                else:
                    bare.append(bare_loop(model, images, **options))

    ours = min(fairboard, key=lambda r: r.seconds)
    base = min(bare, key=lambda r: r.loop_seconds)
    n = args.n
    print(
        f"n={n}  {args.size}x{args.size}  batch {args.batch_size}  threads {args.threads}  "
        f"provider {ours.provider}  repeat {args.repeat} (best of each)"
    )
    print(f"{'':50} {'seconds':>8} {'images/s':>9} {'CPU s':>8}")
    rows = [
        ("bare onnxruntime loop (preloaded, preprocessed)", base.loop_seconds, None),
        ("bare loop + session creation", base.seconds, base.cpu_seconds),
        ("Fairboard run_model (job start to predictions)", ours.seconds, ours.cpu_seconds),
        ("  of which its batch loop (in the child)", ours.loop_seconds, None),
    ]
    for label, seconds, cpu in rows:
        shown_cpu = f"{cpu:8.1f}" if cpu is not None else f"{'':8}"
        print(f"{label:50} {seconds:8.2f} {n / seconds:9.1f} {shown_cpu}")
    ratio = ours.seconds / base.loop_seconds
    print(f"Fairboard / bare loop, wall: {ratio:.3f} (overhead {ratio - 1:+.1%}; target <= +10%)")
    print(f"Fairboard / bare loop + session, wall: {ours.seconds / base.seconds:.3f}")
    print(f"Fairboard / bare loop + session, CPU: {ours.cpu_seconds / base.cpu_seconds:.3f}")
    print(
        f"Fairboard fixed cost (start-up, checks, session, hand-over): "
        f"{ours.seconds - ours.loop_seconds:.2f} s"
    )
    difference = float(np.max(np.abs(ours.predictions - base.predictions)))
    print(f"max |difference| of predictions: {difference:.2e}")
    return 0 if difference < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
