"""Settings a deployment on several machines must share, and a warning when one is missing.

On one machine the defaults (data, lineage store and outbox under ``$DAGSTER_HOME``) are right. Once the
instance lives in a shared database, runs can execute anywhere, and each of those defaults would give
every machine its own private copy: data written by one step that the next step cannot read, lineage
that the UI's store never sees. The warning names the variable to set.
"""

from __future__ import annotations

import logging
import os
import threading

import dagster as dg

log = logging.getLogger(__name__)
_warned: set[str] = set()  # once per process: this is only about not repeating a log line
_lock = threading.Lock()


def instance_is_shared(instance: dg.DagsterInstance | None) -> bool:
    """Run storage other than SQLite / in-memory means other machines may run our steps.

    Dagster 1.13 has no ``@public`` way to ask what storage an instance uses; ``is_ephemeral`` and
    ``run_storage`` are its plain (undocumented but unprefixed) properties, read only here.
    """
    if instance is None or instance.is_ephemeral:
        return False
    return "sqlite" not in type(instance.run_storage).__name__.lower()


def missing_shared_settings(instance: dg.DagsterInstance | None) -> list[str]:
    """What a shared instance needs but the environment does not set, each with what to do."""
    if not instance_is_shared(instance):
        return []
    from lineage.emission.delivery import openlineage_configured

    missing = []
    if not os.environ.get("OBS_DATA_DIR"):
        missing.append("OBS_DATA_DIR is unset: asset data goes to this machine's instance storage; "
                       "set it to shared storage (NFS path or s3://...)")
    if not (os.environ.get("OBS_LINEAGE_DB") or os.environ.get("OBS_LINEAGE_URL") or openlineage_configured()):
        missing.append("OBS_LINEAGE_DB / OBS_LINEAGE_URL are unset: lineage goes to a SQLite file on this "
                       "machine; point them at the shared store (postgresql://...) or at `obs serve`")
    if not os.environ.get("OBS_LINEAGE_SPOOL"):
        missing.append("OBS_LINEAGE_SPOOL is unset: events this worker cannot deliver wait in its local outbox; "
                       "set it to shared storage so the daemon delivers them if this machine goes away")
    return missing


def warn_if_machine_local(context: dg.InitResourceContext) -> list[str]:
    """Log each missing shared setting once per process; returns them (for tests and callers)."""
    missing = missing_shared_settings(context.instance)
    with _lock:
        fresh = [m for m in missing if m not in _warned]
        _warned.update(fresh)
    for message in fresh:
        (context.log or log).warning(f"shared Dagster instance, but {message}")
    return missing
