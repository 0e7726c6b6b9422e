"""Row keys: XXH64 in numpy against the reference C implementation and against Spark."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest
import xxhash

from balance_core.rowkey import row_keys, seed_hash, xxh64_longs, xxh64_strings

_RANDOM = random.Random(11)
TEXTS = [
    "", "a", "abc", "abcd", "abcdefg", "abcdefgh", "é", "x" * 31, "y" * 32, "z" * 33,
    "😀" * 20, "images/cat/0001.jpg",
] + ["".join(_RANDOM.choice("ab/é_.0😀") for _ in range(_RANDOM.randint(0, 90)))
     for _ in range(500)]  # fmt: skip


@pytest.mark.parametrize("seed", [0, 42, 2**63 + 5, 2**64 - 1])
def test_strings_equal_reference_xxh64(seed):
    got = xxh64_strings(pa.array(TEXTS), seed)
    expected = [xxhash.xxh64_intdigest(t.encode(), seed=seed) for t in TEXTS]
    assert got.tolist() == expected


def test_sliced_and_chunked_arrays_hash_their_own_values():
    array = pa.chunked_array([pa.array(TEXTS[:7]), pa.array(TEXTS[7:40])]).slice(3, 30)
    expected = [xxhash.xxh64_intdigest(t.encode(), seed=9) for t in TEXTS[3:33]]
    assert xxh64_strings(array, 9).tolist() == expected


def test_longs_equal_reference_xxh64():
    values = np.array([0, 1, -1, 7, 2**62, -(2**63), 2**63 - 1], dtype=np.int64)
    expected = [
        xxhash.xxh64_intdigest(int(v).to_bytes(8, "little", signed=True), seed=42) for v in values
    ]
    assert xxh64_longs(values, 42).tolist() == expected


def test_keys_equal_spark_xxhash64(spark):
    from pyspark.sql import functions as F

    rows = [(i, t) for i, t in enumerate(TEXTS)] + [(len(TEXTS), None)]
    frame = spark.createDataFrame(rows, "pos long, path string")
    for seed in (0, 3, 123456789):
        got = (
            frame.select(
                "pos",
                F.xxhash64(F.lit(seed).cast("long"), "path").alias("by_path"),
                F.xxhash64(F.lit(seed).cast("long"), "pos").alias("by_pos"),
            )
            .orderBy("pos")
            .collect()
        )
        by_path = row_keys(seed=seed, identity=pa.array([t for _, t in rows]))
        by_pos = row_keys(seed=seed, n_rows=len(rows))
        assert [r.by_path for r in got] == by_path.view(np.int64).tolist()
        assert [r.by_pos for r in got] == by_pos.view(np.int64).tolist()


def test_seeds_give_different_keys():
    assert seed_hash(0) != seed_hash(1)
    a = row_keys(seed=0, n_rows=1000)
    b = row_keys(seed=1, n_rows=1000)
    assert len(set(a.tolist())) == 1000 and np.count_nonzero(a == b) == 0
