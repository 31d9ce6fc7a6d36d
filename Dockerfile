# The image ECS runs: startup.sh (bounded wait for the database, then
# opentelemetry-instrument uvicorn). Python 3.11, the minor version CI tests.

# --- build: the locked dependencies into /app/.venv, before any project file -----------------
FROM python:3.11-slim AS build
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.11

# --- runtime: the venv and the service, as a non-root user -----------------------------------
FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/app/.venv/bin:$PATH HOST=0.0.0.0 PORT=8080
RUN useradd --system --uid 10001 --home-dir /app wfs3
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY app/ app/
COPY data/ data/
COPY startup.sh ./
USER wfs3
EXPOSE 8080
# The port the server listens on (PORT may be changed at run time, as on ECS with host networking).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['PORT']}/healthz\", timeout=2)"]
CMD ["./startup.sh"]
