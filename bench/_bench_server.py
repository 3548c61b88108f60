"""A Fairboard server for the benchmarks: the real app plus one no-op upload route.

The no-op route receives the same multipart upload as a submission and discards it, so the
benchmark can subtract what HTTP and multipart parsing cost on their own.
"""

from __future__ import annotations

import sys
from typing import Annotated

import uvicorn
from fastapi import File, UploadFile

from app.config import get_settings
from app.main import create_app, serving


def main() -> None:
    port = int(sys.argv[1])
    app = create_app(get_settings())

    @app.post("/bench/noop")
    def noop(file: Annotated[UploadFile, File()]) -> dict[str, int]:
        return {"bytes": len(file.file.read())}

    uvicorn.run(serving(app), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
