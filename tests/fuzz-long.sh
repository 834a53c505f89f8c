#!/usr/bin/env bash
# The long fuzz run of issue 8: every proptest target of tests/fuzz.rs for N cases (default
# 1,000,000), one after another on a release build, at low priority. Prints one markdown row per
# target (cases, seconds, cases per second, result) for docs/fuzzing.md.
#
#   tests/fuzz-long.sh                 # all targets, 1M cases each
#   tests/fuzz-long.sh --cases 100000 quantity_ordering focus_gzip_never_panics
#
# A failure stops nothing: its row says FAILED and the log beside it (target/fuzz-long/) holds
# proptest's minimal case, which it also saves under proptest-regressions/ for every later run.
set -euo pipefail
cd "$(dirname "$0")/.."

cases=1000000
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cases) cases="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  # The proptest targets: the functions inside `proptest! { … }` blocks.
  mapfile -t targets < <(sed -n '/^proptest! {/,/^}/p' tests/fuzz.rs | sed -nE 's/^    fn ([a-z_0-9]+)\(.*/\1/p')
fi

bin=$(nice -n 15 cargo test --release --locked --test fuzz --no-run --message-format=json 2>/dev/null \
  | grep '"kind":\["test"\]' | grep '"name":"fuzz"' \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[[ -x "$bin" ]] || { echo "fuzz-long: could not build tests/fuzz.rs" >&2; exit 1; }
logs="${CARGO_TARGET_DIR:-target}/fuzz-long"
mkdir -p "$logs"

echo "| target | cases | seconds | cases/s | result |"
echo "|---|---:|---:|---:|---|"
for t in "${targets[@]}"; do
  start=$(date +%s.%N)
  if PROPTEST_CASES="$cases" nice -n 15 "$bin" --exact "$t" --test-threads 1 >"$logs/$t.log" 2>&1; then
    result=ok
  else
    result="FAILED (see $logs/$t.log)"
  fi
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  rate=$(awk -v n="$cases" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : n) }')
  echo "| \`$t\` | $cases | $secs | $rate | $result |"
done
