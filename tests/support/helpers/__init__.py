"""Shared test helpers, importable as ``helpers.<module>`` (pytest ``pythonpath = ["tests/support"]``)."""
