"""A stand-in for ``scoring.inference.child`` that misbehaves on purpose.

The sandbox tests point ``scoring.inference.sandbox.CHILD_MODULE`` here; the "model file"
holds the name of the misbehaviour, so that the parent's handling of deaths it cannot provoke
reliably with a real model (native crashes, the kernel's OOM killer) is tested.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    job_dir = Path(sys.argv[1])
    job = json.loads((job_dir / "job.json").read_text())
    behaviour = Path(job["model_path"]).read_text().strip()
    if behaviour == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif behaviour == "oom-killed":
        os.kill(os.getpid(), signal.SIGKILL)
    elif behaviour == "cpu-limit":
        os.kill(os.getpid(), signal.SIGXCPU)
    elif behaviour == "bad-alloc-abort":
        sys.stderr.write("terminate called after throwing an instance of 'std::bad_alloc'\n")
        sys.stderr.flush()
        os.abort()
    elif behaviour == "exit-without-result":
        sys.stderr.write(f"something broke in {job_dir}\n")
        sys.exit(3)
    elif behaviour == "short-predictions":
        np.save(job_dir / "predictions.npy", np.zeros(2))
        (job_dir / "result.json").write_text(json.dumps({"status": "ok"}))
    elif behaviour == "internal-error":
        (job_dir / "result.json").write_text(
            json.dumps({"status": "error", "message": "KeyError: 'x'"})
        )


if __name__ == "__main__":
    main()
