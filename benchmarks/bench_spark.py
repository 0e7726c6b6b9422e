"""Seesaw on Spark (local[2]) against the pandas engine and Spark's own approximate route.

Each measurement runs in a fresh process on the same Parquet input (``path``,
``label`` at 1 : 9 over three classes, ``split``): wall time from the start of the
work (session start excluded) to the output written as Parquet, and the driver's
memory, measured three ways:

- ``live heap``: the JVM heap in use right after a forced ``System.gc()`` (via
  py4j) at the end of each stage (read, count, choose + write); the largest of
  those. This is what the driver keeps; the heap in use without a GC mostly
  measures garbage the JVM has not collected yet. In local mode the executor
  threads share the driver's JVM, but between stages no task runs.
- ``JVM RSS``: the JVM process's peak resident memory (``VmHWM``), with the heap
  capped by ``spark.driver.memory`` (``--driver-memory``, default 512m): a run that
  finishes at 30M rows under that cap shows the driver does not grow with rows.
- ``Python RSS``: the Python driver process's own peak (``VmHWM`` of its own
  memory map; ``ru_maxrss`` would carry the parent's peak over the fork + exec).

Routes:
- ``seesaw-spark``: exact undersampling to ``equal`` on the training split
  (:func:`balance_core.engines.spark.spark_resample`).
- ``sampleBy``: ``groupBy().count()`` then ``DataFrame.sampleBy`` with the fractions
  of the same plan: one coin flip per row, so its sizes are only approximate (the
  table says how far off).
- ``pandas``: the pandas engine (``read_dataset`` + ``resample(key_version=2)``).

Usage: python benchmarks/bench_spark.py [--rows 1000000 10000000 30000000]
       [--routes seesaw-spark sampleBy pandas] [--driver-memory 512m]
"""

from __future__ import annotations

import argparse
import json
import os
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


def _hwm_mb(pid: int | str = "self") -> float:
    """Peak resident memory of a process (its VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _measure(route: str, source: str, out: str, driver_memory: str) -> dict:
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

        spark = spark_session(master="local[2]", conf={"spark.driver.memory": driver_memory})
        jvm = spark.sparkContext._jvm
        runtime = jvm.java.lang.Runtime.getRuntime()
        jvm_pid = int(jvm.java.lang.ProcessHandle.current().pid())
        live: dict[str, float] = {}
        paused = [0.0]

        def stage(name: str) -> None:
            """The heap in use after a full GC (time spent here is not counted)."""
            begin = time.perf_counter()
            for _ in range(2):
                jvm.java.lang.System.gc()
            time.sleep(0.2)
            live[name] = (runtime.totalMemory() - runtime.freeMemory()) / 2**20
            paused[0] += time.perf_counter() - begin

        stage("start")
        start = time.perf_counter()
        data = read_spark(spark, source)
        stage("read")
        counts = spark_counts(data, split="train")
        stage("count")
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
        stage("write")
        result["seconds"] = time.perf_counter() - start - paused[0]
        result["live_heap_mb"] = live
        result["jvm_max_heap_mb"] = runtime.maxMemory() / 2**20
        result["jvm_rss_mb"] = _hwm_mb(jvm_pid)
        result["rows_out"] = spark.read.parquet(out).count()
    result["python_peak_mb"] = _hwm_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 30_000_000])
    parser.add_argument("--routes", nargs="+", default=["seesaw-spark", "sampleBy", "pandas"])
    parser.add_argument("--driver-memory", default="512m", help="spark.driver.memory")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(*args.child)))
        return
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start", flush=True)
    work = Path(tempfile.gettempdir()) / "seesaw-bench-spark"
    work.mkdir(exist_ok=True)
    table = []
    for rows in args.rows:
        source = make_input(rows, work)
        for route in args.routes:
            out = work / f"out-{route}-{rows}"
            done = subprocess.run(
                [sys.executable, __file__, "--child", route, str(source), str(out),
                 args.driver_memory],
                capture_output=True, text=True, cwd=ROOT, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                print(f"{route} at {rows:,} rows failed: {done.stderr[-500:]}", file=sys.stderr)
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["rows"] = rows
            result["load"] = os.getloadavg()[0]
            table.append(result)
            print(json.dumps(result), flush=True)
    print(f"\nspark.driver.memory {args.driver_memory}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end\n")  # fmt: skip
    print("| rows | route | seconds | vs sampleBy | live heap after GC MB (read/count/write) "
          "| JVM RSS MB | Python RSS MB | rows out | exact? | load |")  # fmt: skip
    print("|---:|---|---:|---:|---|---:|---:|---:|---|---:|")
    for r in table:
        base = next((b for b in table if b["rows"] == r["rows"] and b["route"] == "sampleBy"), None)
        ratio = f"{r['seconds'] / base['seconds']:.2f}x" if base else "-"
        live = r.get("live_heap_mb")
        heap = "/".join(f"{live[k]:.0f}" for k in ("read", "count", "write")) if live else "-"
        rss = f"{r['jvm_rss_mb']:,.0f}" if "jvm_rss_mb" in r else "-"
        exact = (
            "yes"
            if r["rows_out"] == r["expected"]
            else f"off by {r['rows_out'] - r['expected']:+,}"
        )
        print(
            f"| {r['rows']:,} | {r['route']} | {r['seconds']:.1f} | {ratio} | {heap} | {rss} "
            f"| {r['python_peak_mb']:,.0f} | {r['rows_out']:,} | {exact} | {r['load']:.1f} |"
        )
    for route in ("seesaw-spark", "sampleBy"):
        runs = sorted((r for r in table if r["route"] == route), key=lambda r: r["rows"])
        if len(runs) >= 2 and "live_heap_mb" in runs[0]:
            a, b = runs[0], runs[-1]

            def peak(r):
                return max(v for k, v in r["live_heap_mb"].items() if k != "start")

            times = b["seconds"] / a["seconds"]
            print(f"{route}: {b['rows'] // a['rows']}x rows -> time {times:.2f}x, "
                  f"live heap {peak(b) / peak(a):.2f}x, JVM RSS "
                  f"{b['jvm_rss_mb'] / a['jvm_rss_mb']:.2f}x, Python RSS "
                  f"{b['python_peak_mb'] / a['python_peak_mb']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
