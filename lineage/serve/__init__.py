"""Surfaces over the store: the HTTP API, Prometheus metrics and dashboards."""
