"""Column contracts: every column of every reference asset is described, and the reference assets publish
those descriptions in their column schema."""

from __future__ import annotations

from observability_pipelines.data.contracts import CONTRACTS, DESCRIPTIONS


def test_every_contract_column_has_a_description() -> None:
    for asset, contract in CONTRACTS.items():
        missing = sorted(set(contract.columns) - set(DESCRIPTIONS))
        assert not missing, (asset, missing)
        assert set(contract.descriptions) == set(contract.columns)
        assert all(text.strip() and text.endswith(".") for text in contract.descriptions.values()), asset


def test_no_description_is_left_over_from_a_removed_column() -> None:
    used = {column for contract in CONTRACTS.values() for column in contract.columns}
    assert sorted(set(DESCRIPTIONS) - used) == []


def test_the_sensitive_attribute_is_described_as_such() -> None:
    for asset, contract in CONTRACTS.items():
        for column in contract.sensitive:
            assert "sensitive" in contract.descriptions[column], (asset, column)


def test_reference_assets_describe_their_columns_from_the_contract() -> None:
    from observability_pipelines.assets.observers import standard_observers
    from observability_pipelines.observe.descriptions import ColumnDescriptions

    for asset, contract in CONTRACTS.items():
        [observer] = [o for o in standard_observers(asset) if isinstance(o, ColumnDescriptions)]
        assert observer.descriptions == contract.descriptions, asset
