# Guardian GitHub App: the policy core plus the webhook service (FastAPI on uvicorn).
#
#   docker build -t guardian-app .
#   docker run -p 8000:8000 -v guardian-data:/data \
#     -e GUARDIAN_APP_ID=... -e GUARDIAN_WEBHOOK_SECRET=... \
#     -e GUARDIAN_PRIVATE_KEY_PATH=/run/secrets/guardian.pem guardian-app
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the wheel is built from, so unrelated edits keep the layer cached.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY guardian ./guardian
COPY guardian_app ./guardian_app
COPY policies ./policies
COPY hooks ./hooks
RUN pip install --no-cache-dir "./[app]" \
    && rm -rf /src

# An unprivileged user; the job queue (SQLite) lives on a volume it owns.
RUN useradd --system --uid 10001 --home-dir /home/guardian --create-home guardian \
    && mkdir /data \
    && chown guardian /data
USER 10001
WORKDIR /home/guardian
ENV GUARDIAN_DB_PATH=/data/guardian-app.sqlite3
VOLUME ["/data"]

EXPOSE 8000
# The slim image has no curl; Python's urllib does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

# One process: the workers run inside it. With the default SQLite queue run one
# container; with GUARDIAN_DATABASE_URL (PostgreSQL) run as many as you like
# (docker-compose.yml runs two). guardian_app.serve starts uvicorn with Guardian's
# limits (h11 with a bound on request heads, a connection limit, keep-alive and
# shutdown timeouts).
CMD ["python", "-m", "guardian_app.serve", "--host", "0.0.0.0", "--port", "8000"]
