"""The one assertion-type table: GX expectation types, dbt test kinds and generic words → fault kinds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lineage.analysis.assertion_kinds import kind_of_assertion

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("assertion", "kind"), [
    # Great Expectations 1.x expectation types
    ("expect_column_values_to_not_be_null", "null_burst"),
    ("expect_column_values_to_be_unique", "duplicate_rows"),
    ("expect_compound_columns_to_be_unique", "duplicate_rows"),
    ("expect_column_proportion_of_unique_values_to_be_between", "row_loss"),
    ("expect_column_values_to_be_of_type", "type_change"),
    ("expect_column_values_to_be_in_type_list", "type_change"),
    ("expect_column_to_exist", "column_drop"),
    ("expect_table_columns_to_match_ordered_list", "column_drop"),
    ("expect_table_column_count_to_equal", "column_drop"),
    ("expect_column_values_to_be_in_set", "category_remap"),
    ("expect_column_distinct_values_to_be_in_set", "category_remap"),
    ("expect_table_row_count_to_be_between", "row_loss"),
    ("expect_column_values_to_be_between", "scale_change"),
    ("expect_column_mean_to_be_between", "scale_change"),
    # dbt test kinds (core, dbt_utils, dbt_expectations)
    ("not_null", "null_burst"),
    ("unique", "duplicate_rows"),
    ("accepted_values", "category_remap"),
    ("relationships", "row_loss"),
    ("dbt_utils.unique_combination_of_columns", "duplicate_rows"),
    ("dbt_utils.equal_rowcount", "row_loss"),
    ("dbt_utils.accepted_range", "scale_change"),
    ("dbt_utils.recency", "stale_partition"),
    ("dbt_expectations.expect_column_values_to_be_between", "scale_change"),
    # generic words of custom checks
    ("orders_per_customer", "row_loss"),
    ("rows_match_upstream", "row_loss"),
    ("orphan_payments", "row_loss"),
    ("freshness", "stale_partition"),
    ("custom_sql", "unknown"),
    ("", "unknown"),
])
def test_assertion_type_maps_to_kind(assertion, kind):
    assert kind_of_assertion(assertion) == kind


def test_a_range_check_on_a_time_column_means_old_data():
    assert kind_of_assertion("expect_column_max_to_be_between", "timestamp") == "stale_partition"
    assert kind_of_assertion("expect_column_max_to_be_between", "double") == "scale_change"


def test_words_not_substrings_decide():
    # "type" inside another word, "min" inside "admin", "count" inside "account" name nothing.
    assert kind_of_assertion("prototype_admin_account_check") == "unknown"


def test_rca_modules_name_no_reference_asset_or_check():
    """The generic toolkit never names a reference pipeline's assets or checks."""
    from observability_pipelines.definitions import all_assets, defs

    names = {key.path[-1] for a in all_assets for key in a.keys}
    names |= {spec.name for c in defs.asset_checks for spec in c.check_specs}
    names |= {"per_applicant", "rows_match", "cover_applicants"}
    sources = [p for d in ("lineage/analysis", "lineage/facets") for p in (ROOT / d).glob("*.py")
               if p.name != "health.py"]
    found = {(p.name, n) for p in sources for n in names if re.search(rf"\b{re.escape(n)}\b", p.read_text())}
    assert not found
