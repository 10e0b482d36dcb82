# spse-exporter image. docker-compose.yml builds it and runs it beside Prometheus, Alertmanager
# and Grafana; it also runs alone, with your config mounted (the image holds none):
#   docker build -t spse-exporter . && docker run -p 10040:10040 \
#     -v "$PWD/config/spse.yml:/etc/spse-exporter/spse.yml:ro" --read-only spse-exporter
# Python 3.11: the version the tests run on (Debian 12).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml ./
COPY exporter ./exporter
# exporter/runbook.md links here: the package ships the runbook it serves at /runbook.
COPY docs/runbook.md ./docs/runbook.md
# tests/integration/test_dockerfile.py runs this line's pip install in a clean venv.
RUN pip install --no-cache-dir . && rm -rf /src

# A system user without a home: the exporter writes no files, so the root filesystem can be read-only.
RUN groupadd --system --gid 10040 spse \
 && useradd --system --uid 10040 --gid spse --no-create-home --shell /usr/sbin/nologin spse
USER 10040:10040
WORKDIR /

EXPOSE 10040
# Python, not curl: the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:10040/-/healthy', timeout=4)"]
ENTRYPOINT ["spse-exporter"]
# No config is baked in: /etc/spse-exporter/spse.yml must be your mounted file (compose mounts
# SPSE_CONFIG_FILE there). Without it the exporter probes nothing and exits 2 naming the mount.
CMD ["--config.file=/etc/spse-exporter/spse.yml", "--web.listen-address=:10040"]
