"""With Great Expectations suites switched off, RCA still names asset, column and kind from the drift
and metric facets alone (real pipeline runs, in a fresh process so the assets are defined without suites)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    from observability_pipelines.data.scenarios import Case, run_sweep
    from observability_pipelines.definitions import defs

    checks = [spec.name for c in defs.asset_checks for spec in c.check_specs]
    assets = [spec.name for a in defs.assets if hasattr(a, "check_specs") for spec in a.check_specs]
    cases = [Case("raw_customers", "null_burst", "income", 0.3), Case("raw_customers", "scale_change", "loan_amount", 100.0),
             Case("raw_customers", "category_remap", "region")]
    outcomes, _, _ = run_sweep(cases, workdir=Path(sys.argv[1]))
    print(json.dumps({"ge_checks": [n for n in checks + assets if n.startswith("ge_")],
                      "ranked": [[list(r) for r in o.ranked] for o in outcomes]}))
''')


@pytest.mark.slow
def test_rca_names_asset_column_and_kind_from_drift_and_metrics_alone(tmp_path):
    suites = tmp_path / "no_suites"
    suites.mkdir()
    env = {**os.environ, "OBS_EXPECTATIONS_DIR": str(suites), "DAGSTER_HOME": str(tmp_path / "home")}
    env.pop("OBS_FAULT_PLAN", None)
    (tmp_path / "home").mkdir()
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "work")], env=env, capture_output=True,
                          text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ge_checks"] == []
    expected = [("raw_customers", "income", "null_burst"), ("raw_customers", "loan_amount", "scale_change"),
                ("raw_customers", "region", "category_remap")]
    assert [tuple(r[0]) if r else None for r in report["ranked"]] == expected, report["ranked"]
