#!/usr/bin/env bash
# The dashboard (and `report`) on a generated FOCUS file: time to first data on screen, peak RSS.
#
#   bench/dashboard-load.sh [--rows N] [--keep] [--runs R] [--no-build]
#
#   --rows N     rows of the generated file (default 1000000; the generator bills N/31
#                resources every day of one month, so resource-days = rows: the worst case)
#   --keep       reuse bench/.data/focus-scaled-N.csv if present
#   --runs R     runs of each measurement; all are printed, the best is summarised (default 2)
#   --no-build   use the release binaries already in the target dir
#
# The dashboard is the real binary in a real terminal: `costscope tui --focus FILE` in a tmux
# pane of 120x40, under /usr/bin/time -v. The script polls the pane (capture-pane every 50 ms)
# until the Overview shows data (its "Spend" panel), which is "first data on screen"; it also
# records when the loading screen's progress bar first showed rows. Then it sends `q` and reads
# the peak RSS. A second measurement sends `q` while the file is being read and records how long
# the process took to exit (the read is cancelled). `report --focus FILE --format json` is timed
# the same way, without a terminal.
set -euo pipefail

ROWS=1000000
KEEP=0
BUILD=1
RUNS=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --runs) RUNS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ "$TARGET" == /* ]] || TARGET="$ROOT/$TARGET"
DATA="$HERE/.data"
WORK="$(mktemp -d)"
SESSION="costscope-bench-$$"
trap 'tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$DATA"

log() { printf '==> %s\n' "$*" >&2; }
now() { date +%s.%N; }

command -v tmux >/dev/null || { echo "tmux is needed (apt-get install tmux)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "GNU time is needed (apt-get install time)" >&2; exit 1; }

if [[ $BUILD -eq 1 ]]; then
  log "building release binaries"
  (cd "$ROOT" && cargo build --release --quiet --bin costscope --bin costscope-samplegen)
fi
BIN="${COSTSCOPE_BIN:-$TARGET/release/costscope}"
GEN="$TARGET/release/costscope-samplegen"

FILE="$DATA/focus-scaled-$ROWS.csv"
if [[ $KEEP -eq 0 || ! -f "$FILE" ]]; then
  log "generating $FILE"
  "$GEN" --out-dir "$DATA" --rows "$ROWS" >/dev/null
fi
SIZE_MB=$(awk -v b="$(stat -c %s "$FILE")" 'BEGIN { printf "%.1f", b / 1048576 }')

peak_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

# One dashboard run: prints "first_rows_s first_data_s peak_mb".
dashboard_run() {
  local timelog="$WORK/tui-time.log" start first_rows="" first_data="" screen
  rm -f "$timelog"
  # An empty config: the dashboard reads only the file (no AWS, no cluster).
  printf '' >"$WORK/empty.toml"
  start=$(now)
  tmux new-session -d -s "$SESSION" -x 120 -y 40 \
    "env COSTSCOPE_CONFIG=$WORK/empty.toml /usr/bin/time -v -o $timelog $BIN tui --config $WORK/empty.toml --focus $FILE"
  while :; do
    screen=$(tmux capture-pane -p -t "$SESSION" 2>/dev/null || true)
    if [[ -z $first_rows && $screen == *"rows/s"* ]]; then first_rows=$(now); fi
    if [[ $screen == *"Spend"* && $screen != *"Loading sources"* ]]; then first_data=$(now); break; fi
    if ! tmux has-session -t "$SESSION" 2>/dev/null; then break; fi
    sleep 0.05
  done
  tmux send-keys -t "$SESSION" q
  while tmux has-session -t "$SESSION" 2>/dev/null; do sleep 0.05; done
  awk -v s="$start" -v r="${first_rows:-0}" -v d="${first_data:-0}" -v m="$(peak_mb "$timelog")" \
    'BEGIN { printf "%.2f %.2f %s\n", (r > 0 ? r - s : -1), (d > 0 ? d - s : -1), m }'
}

# Quit during the read: prints "seconds from q to exit".
cancel_run() {
  local start screen sent
  tmux new-session -d -s "$SESSION" -x 120 -y 40 \
    "$BIN tui --config $WORK/empty.toml --focus $FILE"
  while :; do
    screen=$(tmux capture-pane -p -t "$SESSION" 2>/dev/null || true)
    [[ $screen == *"rows/s"* ]] && break
    sleep 0.05
  done
  sleep 0.3
  sent=$(now)
  tmux send-keys -t "$SESSION" q
  while tmux has-session -t "$SESSION" 2>/dev/null; do sleep 0.02; done
  awk -v s="$sent" -v e="$(now)" 'BEGIN { printf "%.2f\n", e - s }'
}

report_run() {
  local timelog="$WORK/report-time.log" start end
  start=$(now)
  /usr/bin/time -v -o "$timelog" "$BIN" report --config "$WORK/empty.toml" --focus "$FILE" \
    --format json --out "$WORK/report.json" 2>/dev/null || true
  end=$(now)
  awk -v s="$start" -v e="$end" -v m="$(peak_mb "$timelog")" 'BEGIN { printf "%.2f %s\n", e - s, m }'
}

printf '' >"$WORK/empty.toml"
log "file: $FILE ($SIZE_MB MB, $ROWS rows); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
best_data=""; best_mb=""
for run in $(seq "$RUNS"); do
  read -r rows_s data_s mb < <(dashboard_run)
  printf 'dashboard run %d: progress shown after %s s, first data on screen after %s s, peak RSS %s MB\n' \
    "$run" "$rows_s" "$data_s" "$mb"
  if [[ -z $best_data ]] || awk -v a="$data_s" -v b="$best_data" 'BEGIN { exit !(a < b) }'; then
    best_data=$data_s; best_mb=$mb
  fi
done
for run in $(seq "$RUNS"); do
  printf 'quit while reading, run %d: exited %s s after q\n' "$run" "$(cancel_run)"
done
for run in $(seq "$RUNS"); do
  read -r secs mb < <(report_run)
  printf 'report run %d: %s s, peak RSS %s MB\n' "$run" "$secs" "$mb"
done
printf '\n| rows | file | dashboard first data (best of %d) | its peak RSS |\n|---|---|---|---|\n| %s | %s MB | %s s | %s MB |\n' \
  "$RUNS" "$ROWS" "$SIZE_MB" "$best_data" "$best_mb"
