"""DuckDB side of bench/compare-duckdb.sh: the same group-by as `costscope costs --by service`.

    python duckdb_groupby.py FILE OUT.csv TIMING.txt [THREADS]

A file named cur-* is a legacy CUR: product/ProductName and lineItem/UnblendedCost are grouped
and summed instead. Reads FILE (.csv or .csv.gz, DuckDB decompresses gzip itself) with BilledCost as
DECIMAL(38,10) so the sums are exact, or FILE.parquet with read_parquet (its BilledCost is
already DECIMAL(38,10), see compare-duckdb.sh), writes `service,billed_cost` rows to OUT.csv and the
seconds the query took (connect + query + fetch, without the interpreter's start-up and
`import duckdb`) to TIMING.txt.
"""

import csv
import os
import sys
import time

import duckdb


def main() -> None:
    path, out, timing = sys.argv[1], sys.argv[2], sys.argv[3]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else 0
    started = time.perf_counter()
    con = duckdb.connect()
    if threads > 0:
        con.execute(f"SET threads = {threads}")
    service, cost = "ServiceName", "BilledCost"
    if os.path.basename(path).startswith("cur-"):
        # A legacy CUR: costscope's BilledCost is the unblended cost (docs/cur-mapping.md).
        service, cost = '"product/ProductName"', '"lineItem/UnblendedCost"'
    if path.endswith(".parquet"):
        source = "read_parquet(?)"
    else:
        types = {cost.strip('"'): "DECIMAL(38,10)"}
        source = f"read_csv(?, header = true, types = {types!r})"
    rows = con.execute(
        f"select {service}, sum({cost}) from {source} group by 1",
        [path],
    ).fetchall()
    elapsed = time.perf_counter() - started
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["service", "billed_cost"])
        for service, total in rows:
            w.writerow(["" if service is None else service, total])
    with open(timing, "w") as f:
        f.write(f"{elapsed:.6f}\n")
        used = con.execute("select current_setting('threads')").fetchone()[0]
        f.write(f"threads={used}\n")
        f.write(f"duckdb={duckdb.__version__}\n")


if __name__ == "__main__":
    main()
