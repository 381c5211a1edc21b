"""Readiness, and the storage faults that take it away.

A storage fault is logged once when it starts (and when its cause changes), not once per
request, and once more when storage works again.
"""

from __future__ import annotations

import logging

from exporter.metrics.selfmetrics import SelfMetrics

log = logging.getLogger(__name__)


class Health:
    """Ready when started and the store takes writes."""

    def __init__(self, metrics: SelfMetrics) -> None:
        self._metrics = metrics
        self.started = False
        self.storage_error: str | None = None

    @property
    def ready(self) -> bool:
        return self.started and self.storage_error is None

    @property
    def reason(self) -> str:
        if not self.started:
            return "not started"
        return f"storage: {self.storage_error}" if self.storage_error else ""

    def storage_failed(self, operation: str, error: Exception) -> None:
        self._metrics.storage_error(operation)
        message = str(error)
        if message != self.storage_error:
            log.error(
                "storage failing", extra={"fields": {"operation": operation, "error": message}}
            )
        self.storage_error = message

    def storage_ok(self) -> None:
        if self.storage_error is not None:
            log.warning("storage recovered", extra={"fields": {"after": self.storage_error}})
            self.storage_error = None
