"""``Observability``: ``with_observability`` as a Dagster component, configured in a ``defs.yaml``.

    type: observability_pipelines.integrate.component.Observability
    attributes:
      module: assets.py            # or a dotted module name; its definitions are the ones observed
      expectations_dir: expectations
      drift_window: 7

The component loads the definitions of ``module`` (a file relative to the component's folder, which the defs
folder does not load a second time, or an importable module) as ``dg.load_definitions_from_module`` does,
and returns ``with_observability`` of them with the options given.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import dagster as dg
from pydantic import Field

from observability_pipelines.integrate.with_observability import with_observability


class Observability(dg.Component, dg.Model, dg.Resolvable):
    """A module's assets plus GE suite checks, drift checks, OpenLineage events and the RCA, incident and
    outbox sensors (the options of ``with_observability``)."""

    module: str = Field(description="A .py file relative to this folder, or an importable module name, "
                                    "whose definitions are observed.")
    expectations_dir: str | None = Field(None, description="Folder of <asset>.json GE suites, relative to this "
                                                           "folder (default: $OBS_EXPECTATIONS_DIR).")
    drift: bool | list[str] = Field(True, description="True: every partitioned asset; False: none; or asset names.")
    drift_window: int = Field(7, ge=1, description="Earlier partitions each drift check compares with.")
    drift_columns: dict[str, list[str]] = Field(default_factory=dict, description="Columns per asset.")
    lineage: bool = True
    incidents: bool = True

    def load_module(self, context: dg.ComponentLoadContext):
        if self.module.endswith(".py") or "/" in self.module:
            path = context.path / self.module
            if not path.is_file():
                raise FileNotFoundError(f"Observability component at {context.path}: module file {path} not found")
            return context.load_defs_relative_python_module(path)
        return importlib.import_module(self.module)

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        expectations = self.expectations_path(context)  # a wrong folder is named before any import
        observed = dg.load_definitions_from_module(self.load_module(context))
        return with_observability(observed, expectations_dir=expectations, drift=self.drift,
                                  drift_window=self.drift_window, drift_columns=self.drift_columns,
                                  lineage=self.lineage, incidents=self.incidents)

    def expectations_path(self, context: dg.ComponentLoadContext) -> Path | None:
        if not self.expectations_dir:
            return None
        path = Path(self.expectations_dir)
        path = path if path.is_absolute() else context.path / path
        if not path.is_dir():
            raise FileNotFoundError(f"Observability component at {context.path}: expectations_dir {path} "
                                    "is not a folder")
        return path
