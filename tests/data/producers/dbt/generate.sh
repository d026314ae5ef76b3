#!/usr/bin/env bash
# Regenerate events.jsonl and events_structured_logs.jsonl: run the dbt project with the real
# openlineage-dbt integration (dbt-ol), writing through the OpenLineage file transport.
# Needs only PyPI (for the venv) and local duckdb, no network at run time.
#
#   DBT_VENV=/tmp/dbtvenv bash tests/data/producers/dbt/generate.sh
#
# The venv is created if missing, outside the repo: these are not project dependencies.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${DBT_VENV:-/tmp/dbtvenv}"
# dbt-core 1.12 needs dbt-core-experimental-parser, whose build downloads a wheel from GitHub: use 1.11.
PINS=(dbt-core==1.11.16 dbt-duckdb==1.11.1 openlineage-dbt==1.54.0)
# Fixed path: the duckdb file's path becomes the datasets' namespace (duckdb:///tmp/obs-dbt-shop/shop.duckdb).
WORK=/tmp/obs-dbt-shop

if [[ ! -x "$VENV/bin/dbt-ol" ]]; then
  python3.11 -m venv "$VENV"
  "$VENV/bin/pip" install -q "${PINS[@]}"
fi
export PATH="$VENV/bin:$PATH"   # dbt-ol runs `dbt` from PATH
export OPENLINEAGE_NAMESPACE="dbt-shop"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
export SHOP_DUCKDB_PATH="$WORK/shop.duckdb"
export DBT_PROFILES_DIR="$WORK"

# One pass per dbt-ol mode: $1 output file, remaining args passed to every dbt-ol call.
run_pass() {
  local out="$1"; shift
  rm -rf "$WORK"; mkdir -p "$WORK"
  cp -r "$HERE/project/." "$WORK/"
  printf 'transport:\n  type: file\n  log_file_path: %s\n  append: true\n' "$WORK/events.jsonl" > "$WORK/openlineage.yml"
  export OPENLINEAGE_CONFIG="$WORK/openlineage.yml"
  # Separate commands, not `dbt build`: build skips models downstream of a failing seed test,
  # and the corpus wants the whole staging -> mart chain plus its failing tests.
  (cd "$WORK" && dbt-ol "$@" seed && dbt-ol "$@" run && { dbt-ol "$@" test || true; })  # tests fail on purpose
  cp "$WORK/events.jsonl" "$HERE/$out"
  echo "$(wc -l < "$HERE/$out") events -> $HERE/$out"
}

run_pass events.jsonl                                  # default: events from run_results.json after dbt ends
run_pass events_structured_logs.jsonl --consume-structured-logs   # events while dbt runs
# Structured-logs mode also emits a child run per SQL statement (`<node>.sql.<n>`, START/COMPLETE, no
# datasets): two thirds of its events and bytes. They are dropped to keep the corpus small.
"$VENV/bin/python" - "$HERE/events_structured_logs.jsonl" <<'PY'
import json, re, sys
path = sys.argv[1]
lines = open(path).read().splitlines(keepends=True)
kept = [l for l in lines if not re.search(r"\.sql\.\d+$", json.loads(l)["job"]["name"])]
open(path, "w").writelines(kept)
print(f"{len(kept)} of {len(lines)} structured-logs events kept (per-statement .sql.N runs dropped)")
PY
rm -rf "$WORK"
