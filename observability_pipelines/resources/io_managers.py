"""Storage of asset values: tables as Parquet, the model as a versioned artifact, under one base path.

The base path is, in order: the ``base_path`` config, ``OBS_DATA_DIR``, or ``<instance storage>/obs_data``,
so every process of a deployment (webserver, daemon, workers) resolves the same place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import joblib
import pandas as pd
from upath import UPath

from observability_pipelines.observe.artifacts import ModelArtifact


def resolve_base_path(base_path: str | None, context: dg.InitResourceContext | None) -> UPath:
    if base_path:
        return UPath(base_path)
    if os.environ.get("OBS_DATA_DIR"):
        return UPath(os.environ["OBS_DATA_DIR"])
    if context is not None and context.instance is not None:
        # storage_directory() is not @public, but it is where Dagster's own fs IO manager writes.
        return UPath(context.instance.storage_directory()) / "obs_data"
    home = os.environ.get("DAGSTER_HOME") or str(Path.cwd() / ".dagster_home")
    return UPath(home) / "storage" / "obs_data"


class _ParquetStore(dg.UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise dg.DagsterInvariantViolationError(
                f"ParquetIOManager stores DataFrames; {context.asset_key.to_user_string()} returned {type(obj).__name__}"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename so a reader never sees half a file.
        tmp = path.with_name(path.name + ".tmp")
        obj.to_parquet(tmp, index=False)
        tmp.rename(path)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return pd.read_parquet(path)

    def load_partitions(self, context: dg.InputContext):
        """UPathIOManager's documented override point, quieter: no log line per partition, and an input with
        ``allow_missing_partitions`` over many days (the model reads every training day there is) skips the
        days never materialized with one line, not one warning per day since the partitions' start."""
        folder = self._base_path.joinpath(*context.asset_key.path)
        keys = context.asset_partition_keys
        allow_missing = bool((context.definition_metadata or {}).get("allow_missing_partitions"))
        found = {}
        for key in keys:
            path = folder / f"{key}{self.extension}"
            if not allow_missing or path.exists():
                found[key] = self.load_from_path(context, path)  # a missing file raises FileNotFoundError
        if len(keys) == 1:
            return found.get(keys[0])
        if len(found) < len(keys):
            context.log.info(f"{context.asset_key.to_user_string()}: loaded the {len(found)} materialized of "
                             f"{len(keys)} partitions; the {len(keys) - len(found)} others were never materialized")
        return found


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """DataFrames as Parquet files: ``<base>/<asset>/<partition>.parquet``."""

    base_path: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> _ParquetStore:
        from observability_pipelines.resources.deployment import warn_if_machine_local

        if not self.base_path:
            warn_if_machine_local(context)
        return _ParquetStore(base_path=resolve_base_path(self.base_path, context))


class _ModelStore(dg.IOManager):
    def __init__(self, base_path: UPath):
        self.base_path = base_path

    def _root(self, context: dg.InputContext | dg.OutputContext) -> UPath:
        return self.base_path / "models" / "/".join(context.asset_key.path)

    def handle_output(self, context: dg.OutputContext, obj: ModelArtifact) -> None:
        root = self._root(context)
        target = root / obj.version
        target.mkdir(parents=True, exist_ok=True)
        joblib.dump(obj, str(target / "artifact.joblib"))
        (target / "manifest.json").write_text(json.dumps(obj.manifest(), indent=2, sort_keys=True))
        tmp = root / "current.json.tmp"
        tmp.write_text(json.dumps({"version": obj.version}))
        tmp.rename(root / "current.json")
        context.add_output_metadata({"artifact_path": dg.MetadataValue.path(str(target))})

    def load_input(self, context: dg.InputContext) -> ModelArtifact:
        root = self._root(context)
        pointer = root / "current.json"
        if not pointer.exists():
            raise dg.Failure(
                f"No model artifact under {root}; materialize {context.asset_key.to_user_string()} first."
            )
        version = json.loads(pointer.read_text())["version"]
        return joblib.load(str(root / version / "artifact.joblib"))


class ModelArtifactIOManager(dg.ConfigurableIOManagerFactory):
    """Versioned model artifacts: ``<base>/models/<asset>/<version>/`` plus a ``current.json`` pointer."""

    base_path: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> _ModelStore:
        return _ModelStore(resolve_base_path(self.base_path, context))
