"""An event's canonical JSON (its stored payload and the source of its hash): a module of its own, so that
what only reads the store (`lineage.store` re-exports it) does not load the validation it belongs with."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(event: Any) -> str:
    """Key order and whitespace do not change an event's identity (the store's payload and hash)."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
