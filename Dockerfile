# One image for the API and the workers.
#   docker build -t fairboard:cpu .                          # API and CPU workers (onnxruntime)
#   docker build -t fairboard:gpu --build-arg EXTRAS=gpu .   # GPU workers (onnxruntime-gpu)
# docker-compose.yml builds both.
FROM python:3.11-slim

ARG EXTRAS=cpu

# PYTHONPATH: the source tree comes first, because app/migrate.py reads alembic.ini and
# migrations/ next to the package, which `pip install .` does not copy.
# LD_LIBRARY_PATH: onnxruntime-gpu loads CUDA and cuDNN from NVIDIA's wheels (the gpu build
# installs them) and the inference sandbox passes this on to its child; harmless on cpu.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FAIRBOARD_DATA_DIR=/data \
    PYTHONPATH=/app \
    LD_LIBRARY_PATH=/usr/local/lib/python3.11/site-packages/nvidia/cuda_runtime/lib:/usr/local/lib/python3.11/site-packages/nvidia/cublas/lib:/usr/local/lib/python3.11/site-packages/nvidia/cudnn/lib:/usr/local/lib/python3.11/site-packages/nvidia/cufft/lib:/usr/local/lib/python3.11/site-packages/nvidia/curand/lib:/usr/local/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY scoring ./scoring
COPY migrations ./migrations

RUN pip install ".[${EXTRAS}]" \
    && if [ "${EXTRAS}" = "gpu" ]; then pip install "onnxruntime-gpu[cuda,cudnn]"; fi \
    && useradd --create-home --uid 10001 --user-group fairboard \
    && mkdir -p /data \
    && chown fairboard:fairboard /data

USER fairboard
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# The API: bring the schema up to date, then serve. Workers override the command
# (`fairboard worker --queues cpu` or `--queues gpu`) and the health check.
CMD ["sh", "-c", "fairboard migrate && exec fairboard serve --host 0.0.0.0 --port 8000"]
