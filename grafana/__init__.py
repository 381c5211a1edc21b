"""Grafana dashboards, Prometheus rules and an Alertmanager example (see grafana/mixin)."""
