#!/bin/sh
# The reconciliation benchmark beside DuckDB and pandas, on the same files and machine.
#   benches/reconcile/compare.sh [DIR]
# Runs `packbench bench --reconcile` (release build) unless DIR already holds its files, then
# benches/reconcile/compare.py in a virtualenv with duckdb and pandas (installed with pip on
# first use; when pip or the network is not there it says so and only our figures stand).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${1:-${TMPDIR:-/tmp}/packbench-bench-reconcile}
if [ ! -f "$dir/bill.csv" ]; then
    (cd "$root" && cargo run --release --quiet -- bench --reconcile)
fi
venv="$root/target/reconcile-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { echo "no python3 venv: only packbench's figures"; exit 0; }
    "$venv/bin/pip" install --quiet duckdb pandas || { echo "pip could not install duckdb/pandas (offline?): only packbench's figures"; exit 0; }
fi
"$venv/bin/python" "$here/compare.py" "$dir"
