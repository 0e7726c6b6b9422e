"""Seesaw on Spark (local[2]) against the pandas engine and Spark's own approximate route.

Each measurement runs in a fresh process on the same Parquet input (``path``,
``label`` at 1 : 9 over three classes, ``split``): wall time from the start of the
work (session start excluded) to the output written as Parquet, and the driver's
peak memory: the Python process's peak RSS, plus for Spark the JVM's peak heap in
use (local mode: the driver and its two executor threads share that JVM).

Routes:
- ``seesaw-spark``: exact undersampling to ``equal`` on the training split
  (:func:`balance_core.engines.spark.spark_resample`).
- ``sampleBy``: ``groupBy().count()`` then ``DataFrame.sampleBy`` with the fractions
  of the same plan: one coin flip per row, so its sizes are only approximate (the
  table says how far off).
- ``pandas``: the pandas engine (``read_dataset`` + ``resample(key_version=2)``).

Usage: python benchmarks/bench_spark.py [--rows 1000000 10000000 30000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_input(rows: int, folder: Path) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = folder / f"in-{rows}"
    if target.exists():
        return target
    target.mkdir()
    chunk = 1_000_000
    rng = np.random.default_rng(0)
    for part, start in enumerate(range(0, rows, chunk)):
        n = min(chunk, rows - start)
        ids = np.arange(start, start + n)
        label = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.9, 0.09, 0.01])
        split = rng.choice(np.array(["train", "val"]), size=n, p=[0.8, 0.2])
        table = pa.table({
            "path": pa.array([f"s3://bucket/images/{i:09d}.jpg" for i in ids]),
            "label": pa.array(label), "split": pa.array(split),
        })  # fmt: skip
        pq.write_table(table, target / f"part-{part:04d}.parquet")
    return target


def _measure(route: str, source: str, out: str) -> dict:
    import resource
    import threading

    result: dict = {"route": route}
    if route == "pandas":
        from balance_core.apply import counts_for, resample
        from balance_core.export import table_parquet, write_atomic_many
        from balance_core.plan import plan_undersample
        from balance_core.readers import read_dataset

        start = time.perf_counter()
        import pyarrow.parquet as pq

        merged = Path(out + ".in.parquet")
        pq.write_table(pq.read_table(source), merged)  # the pandas reader takes one file
        start = time.perf_counter()
        dataset = read_dataset(merged)
        plan = plan_undersample(counts_for(dataset, split="train"))
        chosen = resample(dataset, plan, seed=0, split="train", key_version=2)
        write_atomic_many([(out, table_parquet(chosen.manifest))])
        result["seconds"] = time.perf_counter() - start
        result["rows_out"] = chosen.manifest.num_rows
        result["expected"] = plan.rows_after + chosen.passthrough_rows
        merged.unlink()
    else:
        from pyspark.sql import functions as F

        from balance_core.engines.spark import (
            read_spark,
            spark_counts,
            spark_resample,
            spark_session,
        )
        from balance_core.plan import plan_undersample

        spark = spark_session(master="local[2]", conf={"spark.driver.memory": "2g"})
        jvm = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()
        peak = [0]
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(0.2):
                peak[0] = max(peak[0], jvm.totalMemory() - jvm.freeMemory())

        threading.Thread(target=poll, daemon=True).start()
        start = time.perf_counter()
        data = read_spark(spark, source)
        counts = spark_counts(data, split="train")
        plan = plan_undersample(counts)
        if route == "seesaw-spark":
            chosen = spark_resample(data, plan, seed=0, split="train")
            chosen.manifest.write.mode("overwrite").parquet(out)
            result["expected"] = plan.rows_after + chosen.passthrough_rows
        else:
            fractions = {c: plan.after[c] / n for c, n in counts.items()}
            train = data.frame.where(F.col("split") == "train")
            train.groupBy("label").count().collect()  # the naive route counts first too
            sampled = train.sampleBy("label", fractions=fractions, seed=0)
            sampled.unionByName(data.frame.where(F.col("split") != "train")).write.mode(
                "overwrite"
            ).parquet(out)
            result["expected"] = plan.rows_after + (
                data.frame.where(F.col("split") != "train").count()
            )
            got = sampled.groupBy("label").count().collect()
            result["off_by"] = {r["label"]: r["count"] - plan.after[r["label"]] for r in got}
        result["seconds"] = time.perf_counter() - start
        stop.set()
        result["rows_out"] = spark.read.parquet(out).count()
        peak[0] = max(peak[0], jvm.totalMemory() - jvm.freeMemory())  # a last reading
        result["jvm_peak_mb"] = peak[0] / 2**20
    result["python_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 30_000_000])
    parser.add_argument("--routes", nargs="+", default=["seesaw-spark", "sampleBy", "pandas"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(*args.child)))
        return
    work = Path(tempfile.gettempdir()) / "seesaw-bench-spark"
    work.mkdir(exist_ok=True)
    table = []
    for rows in args.rows:
        source = make_input(rows, work)
        for route in args.routes:
            out = work / f"out-{route}-{rows}"
            done = subprocess.run(
                [sys.executable, __file__, "--child", route, str(source), str(out)],
                capture_output=True, text=True, cwd=ROOT, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                print(f"{route} at {rows:,} rows failed: {done.stderr[-500:]}", file=sys.stderr)
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["rows"] = rows
            table.append(result)
            print(json.dumps(result), flush=True)
    print("\n| rows | route | seconds | vs sampleBy | driver peak (Python RSS + JVM heap) MB "
          "| rows out | exact? |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---|")
    for r in table:
        base = next((b for b in table if b["rows"] == r["rows"] and b["route"] == "sampleBy"), None)
        ratio = f"{r['seconds'] / base['seconds']:.2f}x" if base else "-"
        memory = r["python_peak_mb"] + r.get("jvm_peak_mb", 0)
        exact = (
            "yes"
            if r["rows_out"] == r["expected"]
            else f"off by {r['rows_out'] - r['expected']:+,}"
        )
        print(f"| {r['rows']:,} | {r['route']} | {r['seconds']:.1f} | {ratio} | {memory:,.0f} "
              f"| {r['rows_out']:,} | {exact} |")  # fmt: skip


if __name__ == "__main__":
    main()
