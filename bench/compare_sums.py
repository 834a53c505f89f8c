"""Compares the per-service sums of costscope's `costs --by service --format csv` output with
DuckDB's (bench/duckdb_groupby.py). Numbers are compared as exact decimals, so `12.5` (costscope
prints trimmed plain decimals) equals `12.5000000000` (DuckDB's DECIMAL(38,10)).

    python compare_sums.py COSTSCOPE.csv DUCKDB.csv

Exits 0 when every service has the same sum on both sides, 1 otherwise (printing the
differences).
"""

import csv
import sys
from decimal import Decimal


def costscope_sums(path: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    header, body = rows[0], rows[1:]
    key, cost = 0, header.index("billed_cost")
    currencies = {r[header.index("currency")] for r in body} if "currency" in header else set()
    if len(currencies) > 1:
        sys.exit(f"costscope output has several currencies: {sorted(currencies)}")
    for r in body:
        # costscope writes spreadsheet-safe text: a leading ' guards a formula-like cell.
        name = r[key][1:] if r[key].startswith("'") else r[key]
        sums[name] = sums.get(name, Decimal(0)) + Decimal(r[cost])
    return sums


def duckdb_sums(path: str) -> dict[str, Decimal]:
    with open(path, newline="") as f:
        return {r["service"]: Decimal(r["billed_cost"]) for r in csv.DictReader(f)}


def main() -> None:
    a, b = costscope_sums(sys.argv[1]), duckdb_sums(sys.argv[2])
    bad = []
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            bad.append(f"  {name!r}: costscope {a.get(name)} vs duckdb {b.get(name)}")
    if bad:
        print(f"MISMATCH in {len(bad)} of {len(set(a) | set(b))} services:")
        print("\n".join(bad))
        sys.exit(1)
    total = sum(a.values(), Decimal(0))
    print(f"equal: {len(a)} services, total {total.normalize():f}")


if __name__ == "__main__":
    main()
