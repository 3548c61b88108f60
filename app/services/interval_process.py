"""Where bootstrap intervals are computed: here, or in a lowest-priority child process.

The embedded runner's leaderboard job runs in a thread of the web process: its bootstrap
intervals (numpy, tens of ms per submission, seconds for a big board's rank intervals) took
more of the server's CPU than the upload requests and held the GIL while a request waited
(``bench/bench_service.py --profile``). :func:`isolate` (called once by the embedded runner)
sends them from then on to one child process at ``nice`` 19, started on first use and reused
for the life of the process (one start per process: test apps share it), while the waiting
thread releases the GIL. Celery workers serve no requests and compute in place. Either way the
same function computes the same numbers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt

from scoring.groups import ATTRIBUTES
from scoring.metrics import GroundTruth

log = logging.getLogger("fairboard.jobs")

CHILD_NICENESS = 19
"""The child's scheduling priority: the lowest, so requests on the same cores come first."""
PARENT_POLL_SECONDS = 1.0
"""How soon the child ends after its parent died."""

_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")

_lock = threading.Lock()
_isolated = False
_pool: ProcessPoolExecutor | None = None


@dataclass(frozen=True)
class Labels:
    """What the bootstrap reads of a test set (``scoring.metrics.GroundTruth``): its ages and
    group codes, which pickle (a ``TestSet``'s read-only extras do not)."""

    age: npt.NDArray[np.float64]
    codes: Mapping[str, npt.NDArray[np.intp]]

    @classmethod
    def of(cls, truth: GroundTruth) -> Labels:
        """The ages and group codes of ``truth``."""
        codes = {attribute.name: truth.group_codes(attribute.name) for attribute in ATTRIBUTES}
        return cls(age=np.asarray(truth.age), codes=codes)

    def __len__(self) -> int:
        """The number of items."""
        return len(self.age)

    def group_codes(self, attribute: str) -> npt.NDArray[np.intp]:
        """The items' group codes for ``attribute``."""
        return self.codes[attribute]


def isolate() -> None:
    """Compute intervals in the child process from now on (this process serves requests)."""
    global _isolated
    _isolated = True


def _start_child(parent: int) -> None:
    os.nice(CHILD_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the child ends
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: int) -> None:
    # A parent killed without its exit handlers (uvicorn re-raises SIGTERM) never says so,
    # and the child holds both ends of its task queue, so it would wait for tasks forever.
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(0)


def _child() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # Spawned, not forked: the web process has threads and open connections.
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_child,
                initargs=(os.getpid(),),
            )
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """End the child, waiting for the call it is running (a server stopping); a later call
    starts a new one. Left running at exit, its queue's semaphores are reported leaked."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def call(
    function: Callable[_Params, _Result], *args: _Params.args, **kwargs: _Params.kwargs
) -> _Result:
    """``function(*args, **kwargs)``, in the child process when :func:`isolate` was called.

    ``function`` and its arguments must pickle (module-level functions, arrays, :class:`Labels`).
    A child that died (killed for memory, say) is replaced on the next call; this call then
    computes in place rather than fail the leaderboard job. Where no child can start at all
    (a daemonic process), this process computes in place from then on.
    """
    global _isolated
    if not _isolated:
        return function(*args, **kwargs)
    pool = _child()
    try:
        future = pool.submit(function, *args, **kwargs)
    except BrokenProcessPool:
        future = None
    except (OSError, RuntimeError, AssertionError):
        # Starting a child failed (an AssertionError in a daemonic process): not worth retrying.
        log.exception("no interval process can start here; intervals are computed in place")
        _isolated = False
        future = None
    if future is not None:
        try:
            return future.result()
        except BrokenProcessPool:
            log.warning("the interval process died; computing in place, a new one starts next")
    _discard(pool)
    return function(*args, **kwargs)
