"""Reliability on bad data, on real Dagster runs: failed checks with clear messages, no crashed run, no leak.

Cases: an empty partition, an all-null column, a missing column, unseen categories, infinite values and a
changed type, injected with the fault plan into a raw asset (and, where the asset code itself depends on
the data, into the clean layer under the feature asset). One pipeline serves every case: ``CLEAN_DAYS``
clean partitions first (the drift reference), then one partition per case running the whole daily
pipeline, then the deliberate re-runs of a downstream asset alone (what a retry, a backfill or automation
would do with a partition whose blocking check failed: its data was stored anyway).

For every case: (1) nothing crashed inside a check or an observer (the asset step succeeded with failed
checks, or was stopped by a blocking check, or -- only where the asset code needs what is missing -- failed
with a clear ``dg.Failure``); (2) a check on the injected asset failed; (3) its description names the column
and the problem; (4) no row value (ids, timestamps, amounts, the changed-type strings) appears in check
descriptions, check metadata, failure messages or lineage events; (5) downstream behaves: a blocking
failure keeps the partition out of the assets downstream, a warning lets it flow and the layers below flag
what it turned into.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from observability_pipelines.data.faults import Fault
from helpers.pipeline import DAILY, Pipeline

pytestmark = pytest.mark.slow  # real runs on bad inputs

ROOT = Path(__file__).resolve().parents[3]

START = dt.date(2026, 4, 6)
CLEAN_DAYS = 3  # drift needs earlier partitions; every case here is gross, a short reference is enough
CUSTOMERS_PER_DAY = 150

DOWNSTREAM = {
    "raw_customers": {"clean_customers", "customer_features", "training_set"},
    "raw_transactions": {"clean_transactions", "customer_features", "training_set"},
    "clean_customers": {"customer_features", "training_set"},
}
# Messages of observers and checks that swallowed an exception of their own (reported, not raised).
CRASH_PATTERNS = re.compile(
    r"not built|failed to report|could not record|not emitted|could not be computed", re.IGNORECASE
)


@dataclass(frozen=True)
class Case:
    id: str
    asset: str
    kind: str
    column: str | None = None
    magnitude: float | None = None
    # A blocking ERROR check fails on the injected asset, so the run stops the partition there.
    blocked: bool = False
    # check on the injected asset -> fragments its description must all contain (case-insensitive)
    expect: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # assets re-materialized alone afterwards, in order
    rerun: tuple[str, ...] = ()
    # Re-run steps that must fail in the asset code itself (dg.Failure), not in a check or an observer.
    asset_failure: str | None = None

    def fault(self, partition: str) -> dict:
        return Fault(self.asset, partition, self.kind, self.column, self.magnitude).to_record()


CASES = [
    # All rows lost: the row-count floor (error) blocks, nothing downstream is computable from no applicants;
    # drift reports the empty partition. Cleaning it alone yields an empty table, blocked again.
    Case("empty", "raw_customers", "row_loss", magnitude=1.0, blocked=True,
         expect={"ge_raw_customers_errors": ("0 rows", "empty", "expected at least 1"),
                 "drift": ("current partition is empty",)},
         rerun=("clean_customers",)),
    # A whole column null: a warning (nulls are allowed in moderation), so the partition flows on.
    Case("all_null", "raw_customers", "null_burst", "income", 1.0,
         expect={"ge_raw_customers_warnings": ("income: 100.0% null",),
                 "drift": ("income", "no valid (non-null, finite) values")}),
    # The schema check (error) blocks; cleaning alone fills the column with nulls and flags them.
    Case("missing_column", "raw_customers", "column_drop", "income", blocked=True,
         expect={"ge_raw_customers_errors": ("missing ['income']", "income: column missing"),
                 "drift": ("income", "missing from current")},
         rerun=("clean_customers",)),
    # category_remap renames every region to a short code never seen before ("NOR", ..., "OTHER"): the
    # partition carries only brand-new categories. Vocabularies are warnings.
    Case("unseen_category", "raw_customers", "category_remap", "region",
         expect={"ge_raw_customers_warnings": ("region", "not in the expected set"),
                 "drift": ("region", "unseen in reference")}),
    # Infinite values: outside every range (warning); drift leaves non-finite values out of its tests.
    Case("inf", "raw_customers", "inf_values", "income",
         expect={"ge_raw_customers_warnings": ("income", "infinite value")}),
    Case("inf_transactions", "raw_transactions", "inf_values", "amount",
         expect={"ge_raw_transactions_warnings": ("amount", "infinite value")}),
    # Numbers delivered as "12,345.00" strings: the type check (error) blocks; cleaning alone coerces them.
    Case("type_change", "raw_customers", "type_change", "income", blocked=True,
         expect={"ge_raw_customers_errors": ("income: unexpected type str", "expected float64"),
                 "drift": ("income", "type mismatch")},
         rerun=("clean_customers",)),
    # The same faults behind the feature code: clean_customers is blocked, and customer_features run alone
    # must refuse it with a dg.Failure naming the problem (it cannot compute ratios without income).
    Case("missing_column_under_features", "clean_customers", "column_drop", "income", blocked=True,
         expect={"ge_clean_customers_errors": ("missing ['income']", "income: column missing")},
         rerun=("customer_features",), asset_failure="customer_features"),
    Case("type_change_under_features", "clean_customers", "type_change", "income", blocked=True,
         expect={"ge_clean_customers_errors": ("income: unexpected type str",)},
         rerun=("customer_features",), asset_failure="customer_features"),
]
CASE_IDS = [c.id for c in CASES]


@dataclass(frozen=True)
class Evaluation:
    asset: str
    check: str
    passed: bool
    error: bool  # ERROR severity (the ge_*_errors checks are also blocking)
    description: str
    metadata: str  # every metadata value, rendered

    def __str__(self) -> str:
        return f"{self.asset}/{self.check}: {self.description[:300]}"


@dataclass
class Run:
    selection: tuple[str, ...]
    success: bool
    evaluations: list[Evaluation]
    materialized: set[str]
    failures: dict[str, tuple[str, str]]  # step -> (error class, message)
    logs: list[str]  # WARNING+ messages of the run (Dagster and Python loggers)


@dataclass
class Outcome:
    case: Case
    partition: str
    full: Run
    reruns: list[Run]
    tokens: set[str]  # row values of the partition that must not leave the process
    new_labels: set[str] = field(default_factory=set)

    @property
    def runs(self) -> list[Run]:
        return [self.full, *self.reruns]

    def failed(self, asset: str) -> list[Evaluation]:
        return [e for e in self.full.evaluations if e.asset == asset and not e.passed]


def _day(i: int) -> str:
    return (START + dt.timedelta(days=i)).isoformat()


def _render(metadata: dict) -> str:
    return " | ".join(f"{k}={getattr(v, 'value', v)}" for k, v in metadata.items())


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _run(pipeline: Pipeline, names: Iterable[str], partition: str, records: _Records) -> Run:
    records.messages.clear()
    result = pipeline.materialize(list(names), partition, raise_on_error=False)
    evaluations = [
        Evaluation(e.asset_key.to_user_string(), e.check_name, e.passed,
                   e.severity == dg.AssetCheckSeverity.ERROR, e.description or "", _render(e.metadata))
        for e in result.get_asset_check_evaluations()
    ]
    failures = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            user = data.user_failure_data
            message = (user.description if user else None) or data.error.message
            failures[event.step_key] = (data.error.cls_name, message)
    logs = [entry.user_message for entry in pipeline.instance.all_logs(result.run_id)
            if entry.level >= logging.WARNING and not entry.is_dagster_event]
    materialized = {
        e.asset_key.to_user_string() for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }
    return Run(tuple(names), result.success, evaluations, materialized, failures, logs + list(records.messages))


def _row_tokens(frames: Iterable[pd.DataFrame]) -> set[str]:
    """Row values that identify or quote a record: ids, event times, money amounts, numbers sent as text."""
    tokens: set[str] = set()
    for df in frames:
        for column in df.columns:
            s = df[column].dropna()
            if column.endswith("_id"):
                tokens |= set(s.astype(str))
            elif pd.api.types.is_datetime64_any_dtype(s):
                s = s[s != s.dt.normalize()]  # midnight would collide with a partition's nominal time
                tokens |= {str(t) for t in s} | {t.isoformat() for t in s}
            elif pd.api.types.is_float_dtype(s):
                big = s[np.isfinite(s) & (s.abs() >= 1000)]  # short numbers collide with statistics
                tokens |= {f"{v:.2f}" for v in big} | {f"{v:,.2f}" for v in big}
            elif s.astype(str).str.contains(r"\d,\d{3}\.\d\d", regex=True).any():  # type_change's strings
                tokens |= set(s.astype(str))
    return tokens


_NUMBER = re.compile(r"-?[\d,]+\.\d\d")
_NUMBER_IN_TEXT = re.compile(r"(?<![\d.,])-?\d[\d,]*\.\d\d(?!\d)")  # not inside a longer number


def _leaks(text: str, tokens: set[str]) -> list[str]:
    """Tokens found in ``text``: numbers as whole numbers (not digits of a statistic), the rest as substrings."""
    numbers = set(_NUMBER_IN_TEXT.findall(text))
    found = {t for t in tokens if (t in numbers if _NUMBER.fullmatch(t) else t in text)}
    return sorted(found)[:10]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> dict[str, Outcome]:
    from observability_pipelines.observe.openlineage import OpenLineageResource, reset_emitters

    clean = [_day(i) for i in range(CLEAN_DAYS)]
    faulty = {c.id: _day(CLEAN_DAYS + i) for i, c in enumerate(CASES)}
    records = _Records()
    loggers = [logging.getLogger(n) for n in ("observability_pipelines", "lineage")]
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("bad_data_home")
        mp.setenv("DAGSTER_HOME", str(home))
        for var in ("OBS_FAULT_PLAN", "OBS_DATA_DIR", "OBS_LINEAGE_DB", "OBS_LINEAGE_URL", "OBS_OUTBOX_PATH",
                    "OBS_LINEAGE_SPOOL", "OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OBS_GE_INCLUDE_UNEXPECTED"):
            mp.delenv(var, raising=False)
        reset_emitters()
        for logger in loggers:
            logger.addHandler(records)
        try:
            pipeline = Pipeline(tmp_path_factory.mktemp("bad_data"), customers_per_day=CUSTOMERS_PER_DAY,
                                plan=[c.fault(faulty[c.id]) for c in CASES])
            # The clean history only feeds drift; lineage is emitted (and inspected) for the bad partitions.
            pipeline.resources["openlineage"] = OpenLineageResource(enabled=False)
            for partition in clean:
                assert _run(pipeline, DAILY, partition, records).success, f"clean day {partition} failed"
            pipeline.resources["openlineage"] = OpenLineageResource()
            outcomes = {}
            for case in CASES:
                partition = faulty[case.id]
                full = _run(pipeline, DAILY, partition, records)
                reruns = [_run(pipeline, [asset], partition, records) for asset in case.rerun]
                frames = [pipeline.read(a, partition) for a in ("raw_customers", "raw_transactions", "raw_labels",
                                                                case.asset)]
                outcomes[case.id] = Outcome(case, partition, full, reruns, _row_tokens(frames))
            seen = set(pd.concat([pipeline.read("raw_customers", p) for p in clean])["region"])
            remapped = outcomes["unseen_category"]
            remapped.new_labels = set(pipeline.read("raw_customers", remapped.partition)["region"]) - seen
            reset_emitters()
            with sqlite3.connect(home / "lineage_outbox.db") as conn:
                events = [json.loads(p) for (p,) in conn.execute("SELECT payload FROM outbox ORDER BY id")]
        finally:
            for logger in loggers:
                logger.removeHandler(records)
    return {"outcomes": outcomes, "events": events}


def _outcome(sweep, case_id: str) -> Outcome:
    return sweep["outcomes"][case_id]


# --------------------------------------------------------------------------- (1) nothing crashed


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_no_check_or_observer_crashed(sweep, case_id):
    outcome = _outcome(sweep, case_id)
    for run in outcome.runs:
        for step, (cls, message) in run.failures.items():
            # A blocking check stopping its step is the designed outcome; the feature asset refusing inputs
            # it cannot use is asserted in its own test. Anything else is an unhandled exception.
            allowed = {"DagsterAssetCheckFailedError"} | ({"Failure"} if step == outcome.case.asset_failure else set())
            assert cls in allowed, f"{case_id} {run.selection} step {step}: {cls}: {message}"
        crashed = [m for m in run.logs if CRASH_PATTERNS.search(m)]
        crashed += [str(e) for e in run.evaluations if CRASH_PATTERNS.search(e.description)]
        assert not crashed, f"{case_id} {run.selection}: an observer or check swallowed an exception: {crashed}"
    # every check of the injected asset was evaluated (none skipped by an observer error)
    checks = {e.check for e in outcome.full.evaluations if e.asset == outcome.case.asset}
    assert set(outcome.case.expect) <= checks, checks


# --------------------------------------------------------------------------- (2) + (3) failed, readable


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_a_check_on_the_injected_asset_fails_and_names_the_problem(sweep, case_id):
    outcome = _outcome(sweep, case_id)
    failed = {e.check: e for e in outcome.failed(outcome.case.asset)}
    print(f"\n{case_id} [{outcome.partition}] on {outcome.case.asset}:")
    for e in failed.values():
        print(f"    {e}")
    for check, fragments in outcome.case.expect.items():
        assert check in failed, f"{case_id}: {check} did not fail; failed: {sorted(failed)}"
        description = failed[check].description.lower()
        missing = [f for f in fragments if f.lower() not in description]
        assert not missing, f"{case_id}: {check} does not say {missing}: {failed[check].description!r}"
        assert "failed expect_" not in description, f"bare expectation name instead of a reason: {description!r}"
        if outcome.case.kind != "type_change":  # GX cannot compute ranges of text: said so, with its reason
            assert "could not be evaluated" not in description, f"a GX error instead of a reason: {description!r}"
    if outcome.case.column:
        assert any(outcome.case.column in e.description for e in failed.values())


# --------------------------------------------------------------------------- (4) privacy


def test_the_leak_detector_finds_planted_values():
    """The privacy assertions below are only as good as this: planted values are found, statistics are not."""
    df = pd.DataFrame({"customer_id": ["C2026040900017"], "income": [48213.57], "loan_amount": [12.5],
                       "application_ts": [pd.Timestamp("2026-04-09 08:12:33")], "typed": ["38,632.26"]})
    tokens = _row_tokens([df])
    assert tokens >= {"C2026040900017", "48213.57", "48,213.57", "2026-04-09 08:12:33", "38,632.26"}
    assert "12.50" not in tokens  # small numbers are left out: they collide with percentages
    for planted in ("id C2026040900017 failed", "min=48213.57", "'48,213.57'", "at 2026-04-09T08:12:33",
                    "could not convert string to float: '38,632.26'"):
        assert _leaks(planted, tokens), planted
    for statistic in ("ks=0.048213570001", "mean 148213.571", "5.13% outside [1000, 5e+06]", "2026-04-09"):
        assert not _leaks(statistic, tokens), statistic


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_no_row_values_in_check_results_or_failures(sweep, case_id):
    outcome = _outcome(sweep, case_id)
    assert len(outcome.tokens) > 100  # ids, timestamps and amounts of the partition
    for run in outcome.runs:
        texts = [f"{e.description} {e.metadata}" for e in run.evaluations]
        texts += [message for _, message in run.failures.values()]
        for text in texts:
            leaked = _leaks(text, outcome.tokens)
            assert not leaked, f"{case_id} {run.selection}: row values {leaked} in {text[:500]!r}"


def test_no_row_values_in_lineage_events(sweep):
    events = sweep["events"]
    assert {e["eventType"] for e in events} >= {"START", "COMPLETE", "FAIL"}
    text = json.dumps(events)
    for outcome in sweep["outcomes"].values():
        # Numeric aggregates (min/max/quantiles) are emitted by configuration (OBS_OL_NUMERIC_AGGREGATES);
        # identifiers, timestamps, text and category labels never are.
        tokens = {t for t in outcome.tokens if not re.fullmatch(r"-?\d+\.\d\d", t)}
        leaked = _leaks(text, tokens)
        assert not leaked, f"{outcome.case.id}: row values {leaked} in lineage events"
    labels = _outcome(sweep, "unseen_category").new_labels
    leaked = [label for label in labels | {x.lower() for x in labels} if re.search(rf'"{re.escape(label)}"', text)]
    assert not leaked, f"category labels {leaked} in lineage events"


def test_unseen_category_labels_stay_in_the_process(sweep):
    outcome = _outcome(sweep, "unseen_category")
    assert outcome.new_labels and not outcome.new_labels & {"north", "south", "east", "west", "central"}
    labels = outcome.new_labels | {x.lower() for x in outcome.new_labels}
    for e in outcome.full.evaluations:
        leaked = [x for x in labels if re.search(rf"\b{re.escape(x)}\b", f"{e.description} {e.metadata}")]
        assert not leaked, f"{e.asset}/{e.check} shows row values {leaked}: {e.description!r}"


# --------------------------------------------------------------------------- (5) downstream


@pytest.mark.parametrize("case_id", [c.id for c in CASES if c.blocked])
def test_a_blocking_failure_keeps_the_partition_out_of_downstream_assets(sweep, case_id):
    outcome = _outcome(sweep, case_id)
    run, asset = outcome.full, outcome.case.asset
    assert any(e.check == f"ge_{asset}_errors" and e.error for e in outcome.failed(asset)), outcome.failed(asset)
    assert set(run.failures) == {asset}, run.failures  # only the injected step, stopped by its check
    assert run.failures[asset][0] == "DagsterAssetCheckFailedError"
    downstream = DOWNSTREAM[asset]
    assert asset in run.materialized  # stored (for inspection), but not propagated:
    assert not run.materialized & downstream, run.materialized & downstream
    assert not {e.asset for e in run.evaluations} & downstream
    # Independent branches of the same partition are not held back.
    assert {"raw_labels", "clean_labels", "clean_transactions"} <= run.materialized


@pytest.mark.parametrize("case_id", [c.id for c in CASES if not c.blocked])
def test_a_warning_lets_the_partition_flow(sweep, case_id):
    outcome = _outcome(sweep, case_id)
    assert outcome.full.success and not outcome.full.failures
    assert DOWNSTREAM[outcome.case.asset] <= outcome.full.materialized


def _descriptions(outcome: Outcome, asset: str, run: Run | None = None) -> str:
    run = run or outcome.full
    return " ".join(e.description for e in run.evaluations if e.asset == asset and not e.passed)


def test_all_null_column_is_flagged_in_every_layer_it_reaches(sweep):
    outcome = _outcome(sweep, "all_null")
    assert "income: 100.0% null" in _descriptions(outcome, "clean_customers")
    for asset in ("customer_features", "training_set"):
        text = _descriptions(outcome, asset)
        # the ratios built from income are null as well, and said so
        for fragment in ("income: 100.0% null", "loan_to_income: 100.0% null", "monthly_payment_ratio: 100.0% null"):
            assert fragment in text, f"{asset}: {fragment!r} not in {text!r}"


def test_unseen_categories_are_flagged_as_unknown_codes_in_the_features(sweep):
    outcome = _outcome(sweep, "unseen_category")
    assert "unseen in reference" in _descriptions(outcome, "clean_customers")
    text = _descriptions(outcome, "customer_features")
    # unknown labels encode as -1: a code the feature history never had
    assert "region_code" in text and "unseen in reference" in text, text


def test_infinite_values_are_flagged_in_the_layers_below(sweep):
    outcome = _outcome(sweep, "inf")
    assert "income holds" in _descriptions(outcome, "clean_customers")  # cleaning keeps inf (a valid float)
    features = _descriptions(outcome, "customer_features")
    assert "income holds" in features and "infinite value" in features, features
    # the ratios turn infinite into null (build_features), flagged as nulls
    assert "loan_to_income" in features and "null" in features, features
    tx = _outcome(sweep, "inf_transactions")
    features = _descriptions(tx, "customer_features")
    assert "txn_amount_sum_30d" in features and "infinite value" in features, features


@pytest.mark.parametrize("case_id", ["missing_column", "type_change"])
def test_cleaning_alone_turns_a_missing_or_mistyped_column_into_flagged_nulls(sweep, case_id):
    """Re-running clean_customers alone on the stored raw partition: no crash, the damage shows as nulls
    ("12,345.00" does not parse as a number; a missing column is filled with nulls)."""
    outcome = _outcome(sweep, case_id)
    (rerun,) = outcome.reruns
    assert rerun.success and not rerun.failures and rerun.materialized == {"clean_customers"}
    text = _descriptions(outcome, "clean_customers", rerun)
    share = re.search(r"income: (\d+\.\d)% null", text)
    assert share and float(share.group(1)) >= 90, text
    assert "income: current column has no valid" in text or "income: null increase" in text, text  # drift


def test_cleaning_alone_an_empty_partition_is_blocked_again(sweep):
    outcome = _outcome(sweep, "empty")
    (rerun,) = outcome.reruns
    assert set(rerun.failures) == {"clean_customers"}
    assert rerun.failures["clean_customers"][0] == "DagsterAssetCheckFailedError"
    assert "0 rows, the partition is empty" in _descriptions(outcome, "clean_customers", rerun)


@pytest.mark.parametrize("case_id,fragments", [
    ("missing_column_under_features", ("clean_customers lacks column(s) ['income']",)),
    ("type_change_under_features", ("clean_customers: income is", "expected numeric")),
])
def test_features_refuse_inputs_they_cannot_use_with_a_clear_error(sweep, case_id, fragments):
    """The asset code needs income (loan_to_income, monthly_payment_ratio): failing is right, a KeyError
    or a parse error quoting a raw value is not."""
    outcome = _outcome(sweep, case_id)
    (rerun,) = outcome.reruns
    assert not rerun.success and set(rerun.failures) == {"customer_features"}, rerun.failures
    cls, message = rerun.failures["customer_features"]
    assert cls == "Failure", (cls, message)
    for fragment in (f"customer_features[{outcome.partition}] not built", *fragments, "re-materialize"):
        assert fragment in message, message
    assert not rerun.materialized and not rerun.evaluations
