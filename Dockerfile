# One image for the API and the workers.
#   docker build -t fairboard:cpu .                          # API and CPU workers (onnxruntime)
#   docker build -t fairboard:gpu --build-arg EXTRAS=gpu .   # GPU workers (onnxruntime-gpu)
# docker-compose.yml builds both. On its own the image runs the embedded default (SQLite and
# the files in the /data volume; jobs on threads of the web process):
#   docker run -d -p 8000:8000 -v fairboard-data:/data -e FAIRBOARD_SECRET_KEY=... fairboard:cpu

# Stage 1: the dependencies and the package, in a virtual environment that stage 2 copies whole
# (pip's caches, the wheels and the build tools stay behind).
FROM python:3.11-slim AS build

ARG EXTRAS=cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/fairboard
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY scoring ./scoring
RUN /opt/fairboard/bin/pip install ".[${EXTRAS}]" \
    && if [ "${EXTRAS}" = "gpu" ]; then /opt/fairboard/bin/pip install "onnxruntime-gpu[cuda,cudnn]"; fi \
    # Nothing installs into the image after this stage, and the libraries' own test suites
    # and test data are never run here: together a fifth of the environment.
    && /opt/fairboard/bin/pip uninstall --yes --quiet pip setuptools \
    && find /opt/fairboard/lib/python3.11/site-packages -depth -type d \
        \( -path '*/site-packages/*/tests' -o -path '*/site-packages/onnx/backend/test/data' \) \
        -exec rm -rf {} +

# Stage 2: what runs. No compiler, no pip cache; a non-root user whose data lives in /data.
FROM python:3.11-slim

# PYTHONPATH: the source tree comes first, because app/migrate.py reads alembic.ini and
# migrations/ next to the package, which `pip install .` does not copy.
# FAIRBOARD_DATABASE_URL, _DATA_DIR: the embedded default keeps the database and the files in
# the /data volume (the defaults outside the image, ./var/..., are not writable in /app).
# FAIRBOARD_BASE_URL: production refuses to start without one; this default serves
# http://localhost:8000 (and loopback); set it to the address users reach the site at.
# LD_LIBRARY_PATH: onnxruntime-gpu loads CUDA and cuDNN from NVIDIA's wheels (the gpu build
# installs them) and the inference sandbox passes this on to its child; harmless on cpu.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/fairboard/bin:$PATH \
    PYTHONPATH=/app \
    FAIRBOARD_ENVIRONMENT=production \
    FAIRBOARD_DATABASE_URL=sqlite:////data/fairboard.db \
    FAIRBOARD_DATA_DIR=/data \
    FAIRBOARD_BASE_URL=http://localhost:8000 \
    LD_LIBRARY_PATH=/opt/fairboard/lib/python3.11/site-packages/nvidia/cuda_runtime/lib:/opt/fairboard/lib/python3.11/site-packages/nvidia/cublas/lib:/opt/fairboard/lib/python3.11/site-packages/nvidia/cudnn/lib:/opt/fairboard/lib/python3.11/site-packages/nvidia/cufft/lib:/opt/fairboard/lib/python3.11/site-packages/nvidia/curand/lib:/opt/fairboard/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib

RUN useradd --create-home --uid 10001 --user-group fairboard \
    && mkdir -p /data \
    && chown fairboard:fairboard /data

COPY --from=build /opt/fairboard /opt/fairboard
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
COPY scoring ./scoring

USER fairboard
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# The API: bring the schema up to date, then serve. Workers override the command
# (`fairboard worker --queues cpu` or `--queues gpu`) and the health check.
CMD ["sh", "-c", "fairboard migrate && exec fairboard serve --host 0.0.0.0 --port 8000"]
