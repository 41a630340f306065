#!/usr/bin/env python3
"""The same matching as `packbench bench --reconcile`, done by DuckDB and by pandas on the
files that benchmark leaves (shipments.csv, bill.csv; the rate card is the benchmark's:
classes S <= 2000 g 3000, M <= 5000 g 4000, L <= 10000 g 5000, Jeju 63000-63644 +3000,
tolerance 100 g). Each engine reads the CSV files, then finds unknown waybills, voided
waybills charged, duplicates, weight overcharges, rate mismatches, parcels not billed and the
total mismatch. Prints the time, the peak memory (ru_maxrss of a child process per engine)
and the count per category, which must equal ours.

    python3 benches/reconcile/compare.py DIR [duckdb|pandas]
"""
import os
import resource
import subprocess
import sys
import time

CLASSES = [("S", 2000, 3000), ("M", 5000, 4000), ("L", 10000, 5000)]
TOL = 100
JEJU = (63000, 63644, 3000)


def run_duckdb(d):
    import duckdb

    con = duckdb.connect()
    con.execute("PRAGMA threads=2")
    t = time.perf_counter()
    con.execute(f"CREATE TABLE s AS SELECT * FROM read_csv('{d}/shipments.csv', header=true, all_varchar=false, types={{'waybill':'VARCHAR','postcode':'VARCHAR'}})")
    con.execute(f"CREATE TABLE b0 AS SELECT row_number() OVER () + 1 AS line, * FROM read_csv('{d}/bill.csv', header=true, types={{'waybill':'VARCHAR','size_class':'VARCHAR','zone':'VARCHAR','kind':'VARCHAR','amount':'BIGINT'}})")
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    stated = con.execute("SELECT amount FROM b0 WHERE waybill = 'TOTAL'").fetchone()[0]
    con.execute("CREATE TABLE b AS SELECT * FROM b0 WHERE waybill <> 'TOTAL'")
    cls = " ".join(f"WHEN {{w}} <= {mx} THEN {i}" for i, (_, mx, _) in enumerate(CLASSES))
    price = " ".join(f"WHEN {i} THEN {p}" for i, (_, _, p) in enumerate(CLASSES))
    code = " ".join(f"WHEN '{c}' THEN {i}" for i, (c, _, _) in enumerate(CLASSES))
    q = f"""
    WITH j AS (
      SELECT b.line, b.waybill, b.amount, b.size_class, s.status, s.measured_g,
             (CAST(s.postcode AS INTEGER) BETWEEN {JEJU[0]} AND {JEJU[1]}) AS jeju,
             row_number() OVER (PARTITION BY b.waybill, b.kind ORDER BY b.line) AS n,
             s.waybill IS NULL AS unknown
      FROM b LEFT JOIN s ON s.waybill = b.waybill
    ), c AS (
      SELECT *, CASE {cls.format(w='measured_g')} ELSE 99 END AS ours,
                CASE {cls.format(w=f'measured_g + {TOL}')} ELSE 99 END AS tolerant,
                CASE size_class {code} ELSE 99 END AS billed
      FROM j
    )
    SELECT CASE WHEN unknown THEN 'unknown_waybill'
                WHEN status = 'void' THEN 'void_charged'
                WHEN n > 1 THEN 'duplicate_charge'
                WHEN billed > tolerant THEN 'weight_overcharge'
                WHEN amount <> (CASE billed {price} END) + CASE WHEN jeju THEN {JEJU[2]} ELSE 0 END THEN 'rate_mismatch'
           END AS category, count(*)
    FROM c GROUP BY 1 HAVING category IS NOT NULL
    """
    out = dict(con.execute(q).fetchall())
    out["not_billed"] = con.execute(
        "SELECT count(*) FROM s WHERE status <> 'void' AND waybill NOT IN (SELECT waybill FROM b)"
    ).fetchone()[0]
    total = con.execute("SELECT sum(amount) FROM b").fetchone()[0]
    out["total_mismatch"] = int(total != stated)
    return t_load, time.perf_counter() - t, out


def run_pandas(d):
    import numpy as np
    import pandas as pd

    t = time.perf_counter()
    s = pd.read_csv(f"{d}/shipments.csv", dtype={"waybill": str, "postcode": str, "status": str})
    b = pd.read_csv(f"{d}/bill.csv", dtype={"waybill": str, "size_class": str, "zone": str, "kind": str})
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    b["line"] = np.arange(len(b)) + 2
    stated = int(b.loc[b.waybill == "TOTAL", "amount"].iloc[0])
    b = b[b.waybill != "TOTAL"]
    j = b.merge(s, on="waybill", how="left", indicator=True)
    j["n"] = j.groupby(["waybill", "kind"]).cumcount() + 1
    w = j["measured_g"].fillna(0)
    bounds = [mx for _, mx, _ in CLASSES]
    ours_t = np.searchsorted(bounds, (w + TOL).to_numpy(), side="left")
    billed = j["size_class"].map({c: i for i, (c, _, _) in enumerate(CLASSES)}).fillna(99).to_numpy()
    prices = np.array([p for _, _, p in CLASSES] + [0])
    pc = pd.to_numeric(j["postcode"], errors="coerce").fillna(0)
    jeju = ((pc >= JEJU[0]) & (pc <= JEJU[1])).to_numpy()
    card = prices[np.minimum(billed.astype(int), len(CLASSES))] + np.where(jeju, JEJU[2], 0)
    cat = np.select(
        [j["_merge"].eq("left_only").to_numpy(), j["status"].eq("void").to_numpy(), (j["n"] > 1).to_numpy(),
         billed > ours_t, j["amount"].to_numpy() != card],
        ["unknown_waybill", "void_charged", "duplicate_charge", "weight_overcharge", "rate_mismatch"],
        default="",
    )
    out = {k: int(v) for k, v in pd.Series(cat).value_counts().items() if k}
    billed_wb = set(b["waybill"])
    out["not_billed"] = int(((s.status != "void") & ~s.waybill.isin(billed_wb)).sum())
    out["total_mismatch"] = int(int(b["amount"].sum()) != stated)
    return t_load, time.perf_counter() - t, out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("TMPDIR", "/tmp"), "packbench-bench-reconcile")
    if len(sys.argv) > 2:
        engine = sys.argv[2]
        load, match, counts = (run_duckdb if engine == "duckdb" else run_pandas)(d)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{engine:<7} read {load:7.3f} s  match {match:7.3f} s  total {load + match:7.3f} s  peak {peak:7.1f} MB")
        for k in sorted(counts):
            print(f"          {k:<18} {counts[k]}")
        return
    for engine in ("duckdb", "pandas"):
        subprocess.run([sys.executable, __file__, d, engine], check=False)


if __name__ == "__main__":
    main()
