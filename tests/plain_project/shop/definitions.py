"""The shop project's code location, made observable by the README's lines (kept verbatim: tests check)."""

from pathlib import Path

import dagster as dg
from observability_pipelines import with_observability

from shop.assets import shop_assets

defs = with_observability(
    dg.Definitions(assets=shop_assets),
    expectations_dir=Path(__file__).parent / "expectations",
)
