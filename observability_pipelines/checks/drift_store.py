"""Where drift keeps its own state: partitions flagged as drifted (kept out of later windows) and column profiles.

The state lives where the data's trust domain is, never in events: ``OBS_DATA_DIR`` (a path or fsspec URL)
when set, else the Dagster instance's storage directory (``<storage>/obs_data``, where Dagster's own fs IO
manager writes). Layout: ``_flags/<asset>/<partition>.json``, ``_profiles/<asset>/<partition>.prof`` (binary,
:func:`~observability_pipelines.checks.profiles.encode_record`; a ``<partition>.json`` profile of an earlier
version is still read), ``_state/<asset>/<name>.json`` (the asset's run index, ``run_index``),
``_blocks/<asset>/<name>.prof`` (pre-merged blocks of drift windows, ``window_blocks``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
from upath import UPath

from observability_pipelines.checks.profiles import decode_record, encode_record

DATA_DIR_ENV = "OBS_DATA_DIR"


def state_root(instance: dg.DagsterInstance | None) -> UPath:
    if os.environ.get(DATA_DIR_ENV):
        return UPath(os.environ[DATA_DIR_ENV])
    if instance is not None:
        # storage_directory() is not @public, but it is where Dagster's own fs IO manager writes.
        return UPath(instance.storage_directory()) / "obs_data"
    home = os.environ.get("DAGSTER_HOME") or str(Path.cwd() / ".dagster_home")
    return UPath(home) / "storage" / "obs_data"


class DriftStore:
    """Flags and profiles per (asset, partition), as small JSON files written atomically."""

    def __init__(self, root: UPath):
        self.root = root
        # a local root is joined and read with pathlib: UPath's per-call overhead (~30 us) was a fifth of
        # loading a profile, and a drift window loads one per partition
        self._local = Path(root.path) if getattr(root, "protocol", "") in ("", "file", "local") else None
        self._folders: dict[dg.AssetKey, str] = {}

    @classmethod
    def for_instance(cls, instance: dg.DagsterInstance | None) -> DriftStore:
        return cls(state_root(instance))

    def _path(self, kind: str, asset: dg.AssetKey, partition: str, suffix: str | None = None) -> UPath | Path:
        suffix = suffix or (".prof" if kind == "_profiles" else ".json")
        return (self._local or self.root).joinpath(kind, *asset.path, f"{partition}{suffix}")

    def _read_profile(self, asset: dg.AssetKey, partition: str) -> bytes:
        if self._local is None:
            return self._path("_profiles", asset, partition).read_bytes()
        folder = self._folders.get(asset)
        if folder is None:  # joined once per asset: a window reads one file per partition
            folder = self._folders[asset] = os.path.join(self._local, "_profiles", *asset.path)
        with open(os.path.join(folder, f"{partition}.prof"), "rb") as f:
            return f.read()

    def _write(self, path: UPath | Path, data: dict | bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(json.dumps(data, sort_keys=True))
        tmp.rename(path)  # a reader never sees half a file

    def set_flag(self, asset: dg.AssetKey, partition: str, reason: str | None) -> None:
        """Mark a partition as anomalous (or clear the mark) so it is kept out of drift references."""
        path = self._path("_flags", asset, partition)
        if reason is None:
            if path.exists():
                path.unlink()
            return
        self._write(path, {"reason": reason})

    def is_flagged(self, asset: dg.AssetKey, partition: str) -> bool:
        return self._path("_flags", asset, partition).exists()

    def flagged(self, asset: dg.AssetKey, partitions: Sequence[str]) -> set[str]:
        """Which of ``partitions`` are flagged: one listing of the asset's flags, not a lookup per partition (a
        30-partition window looks back over 90 candidates)."""
        names = self._names("_flags", asset)
        return {p for p in partitions
                if (self.is_flagged(asset, p) if "/" in p or os.sep in p else f"{p}.json" in names)}

    def _names(self, kind: str, asset: dg.AssetKey) -> set[str]:
        folder = (self._local or self.root).joinpath(kind, *asset.path)
        try:
            return set(os.listdir(folder)) if self._local is not None else {p.name for p in folder.iterdir()}
        except (FileNotFoundError, NotADirectoryError):
            return set()

    def save_state(self, asset: dg.AssetKey, name: str, data: dict) -> None:
        """A small JSON document of the asset's own (e.g. the latest run per partition, ``run_index``)."""
        self._write(self._path("_state", asset, name), data)

    def load_state(self, asset: dg.AssetKey, name: str) -> dict | None:
        """The document ``save_state`` wrote; None when missing or unreadable (then rebuilt by its owner)."""
        try:
            return json.loads(self._path("_state", asset, name).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def save_profile(self, asset: dg.AssetKey, partition: str, profile: dict) -> None:
        self._write(self._path("_profiles", asset, partition), encode_record(profile))
        old = self._path("_profiles", asset, partition, ".json")
        if old.exists():  # superseded: a later reader must not fall back to it
            old.unlink()

    def save_block(self, asset: dg.AssetKey, name: str, record: dict) -> None:
        """A pre-merged block of a drift window (``window_blocks``), stored like a profile."""
        self._write(self._path("_blocks", asset, name, ".prof"), encode_record(record))

    def load_block(self, asset: dg.AssetKey, name: str) -> dict | None:
        """The block ``save_block`` wrote; None when missing, torn or foreign (then rebuilt by its owner)."""
        try:
            return decode_record(self._path("_blocks", asset, name, ".prof").read_bytes())
        except FileNotFoundError:
            return None

    def load_profile(self, asset: dg.AssetKey, partition: str) -> dict | None:
        """The stored record (binary, else an earlier version's JSON); None when missing, torn or foreign
        (the partition is then read instead)."""
        try:
            return decode_record(self._read_profile(asset, partition))
        except FileNotFoundError:
            pass
        try:
            return json.loads(self._path("_profiles", asset, partition, ".json").read_text())
        except (FileNotFoundError, ValueError):
            return None
