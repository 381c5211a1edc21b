# syntax=docker/dockerfile:1
# Build: docker build -t okta-group-push-exporter .
# Run:   docker run -p 9947:9947 -v ogpe-state:/var/lib/okta-group-push-exporter \
#          -e OKTA_HOOK_SECRET=... --read-only okta-group-push-exporter

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY exporter ./exporter
# The exact versions the tests ran against, each file checked against its sha256
# (scripts/lock writes requirements.lock); the project itself adds nothing unchecked.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-compile --require-hashes -r requirements.lock \
 && /opt/venv/bin/pip install --no-compile --no-deps --no-build-isolation .

FROM python:3.11-slim-bookworm
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="okta-group-push-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Okta Group Push failures" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/okta-group-push-exporter/okta-group-push-exporter"
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin exporter \
 && mkdir -p /var/lib/okta-group-push-exporter \
 && chown 10001:10001 /var/lib/okta-group-push-exporter
COPY --from=build /opt/venv /opt/venv
# Nothing is written outside the state volume, so the root filesystem can be read-only.
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OKTA_GROUP_PUSH_STORAGE_PATH=/var/lib/okta-group-push-exporter \
    OKTA_GROUP_PUSH_LOG_FORMAT=json
USER 10001:10001
VOLUME ["/var/lib/okta-group-push-exporter"]
EXPOSE 9947
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["okta-group-push-exporter", "healthcheck"]
ENTRYPOINT ["okta-group-push-exporter"]
CMD ["serve"]
