#!/usr/bin/env bash
# costscope vs DuckDB on the same generated FOCUS file: ingest + group by service.
#
#   bench/compare-duckdb.sh [--rows N] [--keep] [--runs R] [--duckdb-threads T]
#
#   --rows N            rows of the generated file (default 1000000)
#   --keep              reuse bench/.data/focus-scaled-N.{csv,csv.gz,parquet} if present
#   --runs R            runs per tool and file; the best is reported (default 3)
#   --duckdb-threads T  DuckDB's thread count (default: DuckDB's own, all cores)
#   --no-build          use the release binaries already in the target dir
#
# For each of .csv, .csv.gz and .parquet it runs, R times each and alternating,
#   costscope costs --focus FILE --by service --format csv         (release build)
#   select ServiceName, sum(BilledCost) from read_csv(FILE) group by 1   (DuckDB, Python)
#   (read_parquet(FILE) for the Parquet file)
# with BilledCost read as DECIMAL(38,10) so DuckDB sums exactly; checks that every service's
# sum is equal; and prints the best wall time, throughput (MB/s of uncompressed CSV), peak RSS
# (/usr/bin/time -v) and the throughput ratio costscope/DuckDB, then a markdown table.
#
# DuckDB is the pip package, installed into bench/.venv on first use. Its time is measured in
# its own process (connect + query + fetch), without Python's start-up and `import duckdb`;
# costscope's is the whole process. Its RSS is the whole Python process.
set -euo pipefail

ROWS=1000000
KEEP=0
BUILD=1
RUNS=3
DUCK_THREADS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --runs) RUNS="$2"; shift 2 ;;
    --duckdb-threads) DUCK_THREADS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ "$TARGET" == /* ]] || TARGET="$ROOT/$TARGET" # cargo runs in $ROOT below
DATA="$HERE/.data"
VENV="$HERE/.venv"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$DATA"

log() { printf '==> %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
  log "installing GNU time (apt)"
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq time >/dev/null
fi
if ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
  log "creating $VENV with duckdb (pip)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet duckdb
fi
PY="$VENV/bin/python"
DUCK_VERSION="$("$PY" -c 'import duckdb; print(duckdb.__version__)')"

if [[ $BUILD -eq 1 ]]; then
  log "building costscope (release) in $TARGET"
  (cd "$ROOT" && cargo build --release --quiet --bin costscope --bin costscope-samplegen)
fi
COSTSCOPE="$TARGET/release/costscope"
SAMPLEGEN="$TARGET/release/costscope-samplegen"
for bin in "$COSTSCOPE" "$SAMPLEGEN"; do
  [[ -x "$bin" ]] || { echo "missing $bin (build it, or set CARGO_TARGET_DIR)" >&2; exit 1; }
done

# --- input files ---------------------------------------------------------------------------
PLAIN="$DATA/focus-scaled-$ROWS.csv"
GZ="$DATA/focus-scaled-$ROWS.csv.gz"
for f in "$PLAIN" "$GZ"; do
  if [[ $KEEP -eq 1 && -s "$f" ]]; then
    log "reusing $f"
    continue
  fi
  log "generating $f"
  if [[ "$f" == *.gz ]]; then
    "$SAMPLEGEN" --out-dir "$DATA" --rows "$ROWS" --gzip >/dev/null
  else
    "$SAMPLEGEN" --out-dir "$DATA" --rows "$ROWS" >/dev/null
  fi
done
RAW_BYTES=$(stat -c %s "$PLAIN")

# The same rows as a legacy Cost and Usage Report (the generator's reverse of the CUR mapping,
# docs/cur-mapping.md): read with `--cur`, where every row goes through the mapping table.
CUR="$DATA/cur-legacy-scaled-$ROWS.csv"
if [[ $KEEP -eq 1 && -s "$CUR" ]]; then
  log "reusing $CUR"
else
  log "generating $CUR"
  "$SAMPLEGEN" --out-dir "$DATA" --rows "$ROWS" --cur legacy >/dev/null
fi

# The same rows as Parquet, written by DuckDB (snappy, its default row groups of 122,880 rows),
# the costs as DECIMAL(38,10) and the times as TIMESTAMP, as a FOCUS Parquet export has them.
PARQUET="$DATA/focus-scaled-$ROWS.parquet"
if [[ $KEEP -eq 1 && -s "$PARQUET" ]]; then
  log "reusing $PARQUET"
else
  log "converting to $PARQUET (DuckDB)"
  "$PY" - "$PLAIN" "$PARQUET" <<'PY'
import sys, duckdb
src, dst = sys.argv[1], sys.argv[2]
money = {c: "DECIMAL(38,10)" for c in ("BilledCost", "EffectiveCost", "ListCost")}
con = duckdb.connect()
con.execute(
    f"copy (select * from read_csv(?, header = true, types = {money!r})) "
    f"to '{dst}' (format parquet, compression snappy)",
    [src],
)
PY
fi

# --- measuring -----------------------------------------------------------------------------
now_ns() { date +%s%N; }
rss_kb() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
cpu_s() { awk -F': ' '/User time|System time/ {s += $2} END {printf "%.3f", s}' "$1"; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

# run_costscope FILE OUT -> sets CS_T (s), CS_RSS (kB), CS_CPU (user+sys s)
run_costscope() {
  local t0 t1
  t0=$(now_ns)
  local scheme=--focus
  [[ "$(basename "$1")" == cur-* ]] && scheme=--cur
  /usr/bin/time -v -o "$WORK/time.txt" \
    "$COSTSCOPE" costs "$scheme" "$1" --by service --format csv >"$2" 2>"$WORK/cs.err" ||
    { cat "$WORK/cs.err" >&2; exit 1; }
  t1=$(now_ns)
  CS_T=$(secs "$t0" "$t1")
  CS_RSS=$(rss_kb "$WORK/time.txt")
  CS_CPU=$(cpu_s "$WORK/time.txt")
}

# run_duckdb FILE OUT -> sets DK_T (s, in-process query), DK_P (s, whole process), DK_RSS (kB),
# DK_CPU (user+sys s of the whole process, all threads)
run_duckdb() {
  local t0 t1
  t0=$(now_ns)
  /usr/bin/time -v -o "$WORK/time.txt" \
    "$PY" "$HERE/duckdb_groupby.py" "$1" "$2" "$WORK/duck-timing.txt" "$DUCK_THREADS"
  t1=$(now_ns)
  DK_P=$(secs "$t0" "$t1")
  DK_T=$(awk 'NR == 1 { printf "%.3f", $1 }' "$WORK/duck-timing.txt")
  DK_THREADS=$(sed -n 's/^threads=//p' "$WORK/duck-timing.txt")
  DK_RSS=$(rss_kb "$WORK/time.txt")
  DK_CPU=$(cpu_s "$WORK/time.txt")
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v l="${LOAD_BEFORE%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n * 0.5) }'; then
  log "warning: load average $LOAD_BEFORE on $(nproc) cores: other work will skew the timings"
fi
declare -a TABLE
for FILE in "$PLAIN" "$GZ" "$PARQUET" "$CUR"; do
  NAME="$(basename "$FILE")"
  SIZE=$(stat -c %s "$FILE")
  log "$NAME ($(mbps "$SIZE" 1) MB on disk, $(mbps "$RAW_BYTES" 1) MB of CSV): $RUNS runs each"
  cat "$FILE" >/dev/null # into the page cache for both tools alike
  BEST_CS="" BEST_DK="" BEST_DKP="" BEST_CSC="" BEST_DKC="" MAX_CS_RSS=0 MAX_DK_RSS=0
  for i in $(seq 1 "$RUNS"); do
    run_costscope "$FILE" "$WORK/costscope.csv"
    run_duckdb "$FILE" "$WORK/duckdb.csv"
    printf '    run %d: costscope %ss (cpu %ss, %s MB RSS)   duckdb %ss query, %ss process (cpu %ss, %s MB RSS)\n' \
      "$i" "$CS_T" "$CS_CPU" "$((CS_RSS / 1024))" "$DK_T" "$DK_P" "$DK_CPU" "$((DK_RSS / 1024))" >&2
    BEST_CS=$(min "$BEST_CS" "$CS_T")
    BEST_DK=$(min "$BEST_DK" "$DK_T")
    BEST_DKP=$(min "$BEST_DKP" "$DK_P")
    BEST_CSC=$(min "$BEST_CSC" "$CS_CPU")
    BEST_DKC=$(min "$BEST_DKC" "$DK_CPU")
    ((CS_RSS > MAX_CS_RSS)) && MAX_CS_RSS=$CS_RSS
    ((DK_RSS > MAX_DK_RSS)) && MAX_DK_RSS=$DK_RSS
  done
  SUMS="$("$PY" "$HERE/compare_sums.py" "$WORK/costscope.csv" "$WORK/duckdb.csv")" && EQUAL=yes || EQUAL=NO
  echo "    sums: $SUMS" >&2
  CS_MBPS=$(mbps "$RAW_BYTES" "$BEST_CS")
  DK_MBPS=$(mbps "$RAW_BYTES" "$BEST_DK")
  RATIO=$(awk -v a="$CS_MBPS" -v b="$DK_MBPS" 'BEGIN { printf "%.2f", a / b }')
  RATIO_P=$(awk -v a="$BEST_DKP" -v b="$BEST_CS" 'BEGIN { printf "%.2f", a / b }')
  echo
  echo "$NAME: $ROWS rows, $(mbps "$SIZE" 1) MB on disk, $(mbps "$RAW_BYTES" 1) MB of CSV"
  echo "  costscope: best ${BEST_CS}s  ${CS_MBPS} MB/s  peak RSS $((MAX_CS_RSS / 1024)) MB"
  echo "  duckdb:    best ${BEST_DK}s  ${DK_MBPS} MB/s  peak RSS $((MAX_DK_RSS / 1024)) MB  (${DK_THREADS} threads; process incl. Python start-up ${BEST_DKP}s)"
  echo "  costscope/duckdb throughput: ${RATIO}x  (against DuckDB's whole process: ${RATIO_P}x)"
  echo "  CPU time (user+sys, best): costscope ${BEST_CSC}s, duckdb process ${BEST_DKC}s"
  echo "  per-service sums equal: $EQUAL"
  TABLE+=("| \`$NAME\` | $(mbps "$SIZE" 1) MB | ${BEST_CS} s · ${CS_MBPS} MB/s | $((MAX_CS_RSS / 1024)) MB | ${BEST_DK} s · ${DK_MBPS} MB/s | $((MAX_DK_RSS / 1024)) MB | **${RATIO}×** (${RATIO_P}×) | $EQUAL |")
  [[ $EQUAL == yes ]] || FAILED=1
done

CPU="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo
echo "Machine: $(nproc) cores, ${CPU:-unknown CPU}; $(date -u '+%Y-%m-%d %H:%M UTC'); load average before/after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg); DuckDB $DUCK_VERSION (${DK_THREADS} threads); costscope $("$COSTSCOPE" --version | awk '{print $2}'); best of $RUNS; MB/s of uncompressed CSV ($(mbps "$RAW_BYTES" 1) MB)."
echo
echo "| file | size | costscope | costscope peak RSS | DuckDB (query) | DuckDB peak RSS | costscope/DuckDB (vs process) | sums equal |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${TABLE[@]}"
exit "${FAILED:-0}"
