# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter ./exporter
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
COPY --from=build /opt/venv /opt/venv
RUN useradd --system --uid 10001 --home-dir /var/lib/okta-group-push-exporter exporter \
 && mkdir -p /var/lib/okta-group-push-exporter \
 && chown exporter /var/lib/okta-group-push-exporter
USER 10001
VOLUME ["/var/lib/okta-group-push-exporter"]
ENV PATH="/opt/venv/bin:$PATH" \
    OKTA_GROUP_PUSH_STORAGE_PATH=/var/lib/okta-group-push-exporter \
    OKTA_GROUP_PUSH_LOG_FORMAT=json
EXPOSE 9947
ENTRYPOINT ["okta-group-push-exporter"]
CMD ["serve"]
