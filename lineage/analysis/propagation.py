"""Which upstream fault can explain which downstream anomaly.

An anomaly downstream of an anomalous parent is an *echo* of it only if the parent's fault can
produce it: lost rows can surface as nulls after a join, a dropped column as nearly anything, but a
shifted label distribution does not duplicate rows. The table lists the impossible explanations;
everything else propagates (``unknown`` — a failed run, a whole-suite check — is explained by any
fault and explains any anomaly).
"""

from __future__ import annotations

CANNOT_EXPLAIN: dict[str, frozenset[str]] = {
    # downstream kind: upstream kinds that cannot cause it
    "duplicate_rows": frozenset({"null_burst", "scale_change", "mean_shift", "label_shift",
                                 "row_loss"}),
    "null_burst": frozenset({"duplicate_rows", "label_shift"}),
    "row_loss": frozenset({"duplicate_rows", "label_shift"}),
    # Losing or repeating rows changes how many values there are, not their unit.
    "scale_change": frozenset({"label_shift", "row_loss", "duplicate_rows"}),
    "mean_shift": frozenset({"label_shift"}),
    "category_remap": frozenset({"label_shift"}),
}


def explains(upstream_kind: str, downstream_kind: str) -> bool:
    """Can a fault of ``upstream_kind`` show downstream as an anomaly of ``downstream_kind``?"""
    return upstream_kind not in CANNOT_EXPLAIN.get(downstream_kind, frozenset())
