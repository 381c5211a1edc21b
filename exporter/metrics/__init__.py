"""Counts to Prometheus: exposition, self-metrics, health, README reference tables."""
