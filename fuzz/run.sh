#!/usr/bin/env bash
# run.sh - run fuzz targets one after another, each until 10 million executions or 30 minutes
# (whichever comes first), and print one summary line per target.
#
# Usage: fuzz/run.sh [TARGET...]        (default: every target)
# Knobs: RUNS (10000000), SECS (1800), RSS_MB (2048), JOBS is not used: one process per
#        target, so two runs of this script can share a 2-core machine.
# Needs: a nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
# Seeds: cargo run --example fuzz_seeds (writes fuzz/corpus/<target>/).
set -uo pipefail
cd "$(dirname "$0")"
RUNS="${RUNS:-10000000}"; SECS="${SECS:-1800}"; RSS_MB="${RSS_MB:-2048}"
targets=("$@"); [ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
[ -d corpus ] || (cd .. && cargo run -q --example fuzz_seeds)
mkdir -p logs
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  start=$SECONDS
  cargo +nightly fuzz run -O -a "$t" -- -runs="$RUNS" -max_total_time="$SECS" \
    -rss_limit_mb="$RSS_MB" -timeout=10 -print_final_stats=1 > "logs/$t.log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "logs/$t.log" | tail -1)
  if [ $rc -eq 0 ]; then verdict=clean; else verdict="FAILED (rc $rc; see fuzz/logs/$t.log and fuzz/artifacts/$t/)"; status=1; fi
  echo "$t: ${execs:-?} executions in $((SECONDS - start)) s, ${cov:-cov ?}, corpus $(ls "corpus/$t" | wc -l) files: $verdict"
done
exit $status
