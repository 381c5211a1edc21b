"""Prometheus exporter for Okta Group Push failures."""

__version__ = "0.1.0"
