"""On one machine (SQLite or ephemeral instance) the local defaults are right: no warnings."""

import dagster as dg

from observability_pipelines.resources.deployment import instance_is_shared, missing_shared_settings


def test_local_instances_need_no_shared_settings(monkeypatch):
    for key in ("OBS_DATA_DIR", "OBS_LINEAGE_DB", "OBS_LINEAGE_URL", "OBS_LINEAGE_SPOOL"):
        monkeypatch.delenv(key, raising=False)
    ephemeral = dg.DagsterInstance.ephemeral()
    local = dg.DagsterInstance.get()  # SQLite under the test's DAGSTER_HOME
    try:
        assert not instance_is_shared(ephemeral) and not instance_is_shared(local)
        assert missing_shared_settings(ephemeral) == [] and missing_shared_settings(local) == []
    finally:
        local.dispose()
