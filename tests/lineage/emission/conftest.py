import os

import pytest


@pytest.fixture(autouse=True)
def _clean_lineage_env(monkeypatch, tmp_path):
    """No developer OpenLineage config leaks in: env vars cleared, cwd without openlineage.yml."""
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE") or key in ("OBS_LINEAGE_URL", "OBS_OUTBOX_PATH", "OBS_LINEAGE_DB",
                                                    "OBS_LINEAGE_TOKEN", "OBS_OL_NAMESPACE", "OBS_LINEAGE_SPOOL",
                                                    "OBS_OL_DATASET_NAMESPACE", "OBS_OL_NUMERIC_AGGREGATES",
                                                    "OBS_OL_NUMERIC_PRECISION", "OBS_OL_PRIVATE_COLUMNS",
                                                    "OBS_LINEAGE_FINGERPRINT_KEY"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    yield
