"""The one table from assertion types to fault kinds.

An assertion type is what a producer puts in ``dataQualityAssertions[].assertion`` (or a ``test`` run
facet's ``type``): a Great Expectations expectation type, a dbt test kind (``not_null``, ``unique``,
``accepted_values``, ``relationships``, ``dbt_utils.*``, ``dbt_expectations.*``), or the name of a
custom check, read through the generic words it is made of. The type is lower-cased and split into
words on anything but letters and digits; the first row with a word (or a run of words, such as
``proportion of unique``) found in it gives the kind.
"""

from __future__ import annotations

import re

# (kind, phrases): earlier rows win. A phrase is one word or several consecutive words.
ASSERTION_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The share of distinct keys leaves its band upwards when rows per key are lost (duplication heavy
    # enough to push it below is reported by the key-uniqueness checks as well).
    ("row_loss", ("proportion of unique",)),
    ("null_burst", ("null", "nulls", "not null", "missing values", "completeness")),
    ("duplicate_rows", ("unique", "uniqueness", "duplicate", "duplicates", "dup", "dupes", "compound columns")),
    ("type_change", ("type", "of type", "in type list", "dtype", "data type")),
    ("column_drop", ("exist", "exists", "columns to match", "column count", "schema", "columns")),
    ("category_remap", ("in set", "accepted values", "distinct values", "values to be in", "categories",
                        "category", "enum")),
    ("row_loss", ("row count", "rowcount", "equal rowcount", "fewer rows", "rows", "row", "count",
                  "relationships", "relationship", "referential", "foreign key", "orphan", "orphans",
                  "cardinality", "cover", "covers", "coverage", "per")),
    ("inf_values", ("infinite", "finite", "inf", "nan")),
    ("stale_partition", ("recency", "freshness", "fresh", "stale", "latest", "increasing")),
    ("scale_change", ("between", "range", "accepted range", "min", "max", "mean", "median", "stdev", "sum",
                      "quantile", "quantiles", "positive", "negative", "outlier", "outliers")),
)
_TIME_TYPE = re.compile(r"time|date", re.IGNORECASE)


def words(assertion: str) -> str:
    """``"dbt_utils.accepted_range"`` → ``" dbt utils accepted range "`` (padded for phrase search)."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", assertion.lower())) + " "


def kind_of_assertion(assertion: str, column_type: str | None = None) -> str:
    """The fault kind a failure of this assertion type points to (``"unknown"`` if none does).

    A range check on a time column that fails means old data (``stale_partition``), not a unit change.
    """
    text = words(assertion)
    for kind, phrases in ASSERTION_KINDS:
        if any(f" {p} " in text for p in phrases):
            if kind == "scale_change" and column_type and _TIME_TYPE.search(column_type):
                return "stale_partition"
            return kind
    return "unknown"
