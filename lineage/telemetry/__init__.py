"""Traces and structured logs of runs, steps and checks (OpenTelemetry, JSON logging)."""
