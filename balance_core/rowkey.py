"""Row keys: a row's random key from its stable identity and the seed, on every engine.

A key is XXH64 (Collet, xxHash specification) of the row's identity, seeded with
XXH64 of the user's seed: exactly what Apache Spark's built-in ``xxhash64(seed,
identity)`` computes (Spark hashes its first argument with seed 42 and feeds the
result as the seed of the next). The identity is a key column's value as UTF-8
text (the path column by default), or the row's 0-based position in a single input
file as a 64-bit integer. The key therefore never depends on partitioning, on other
rows, or on the number of workers, and the pandas engine and Spark pick the same rows.

Implemented here in numpy (vectorised over rows, wrapping uint64 arithmetic), so the
pandas engine needs no extra package; tests check it against the reference C
implementation (the ``xxhash`` package) and against a real Spark session.

References
----------
Y. Collet, "xxHash fast digest algorithm", XXH64 specification v0.1.1.
Apache Spark, ``org.apache.spark.sql.catalyst.expressions.XxHash64`` (seed 42).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["KEY_VERSION", "SPARK_SEED", "row_keys", "seed_hash", "xxh64_longs", "xxh64_strings"]

KEY_VERSION = 2
"""Recipes with this ``key_version`` choose rows by XXH64 keys; older recipes (no
``key_version``) by SplitMix64 of the row number (:mod:`balance_core.apply`)."""
SPARK_SEED = 42
"""The seed Spark's ``xxhash64`` starts from."""

_P1 = np.uint64(11400714785074694791)
_P2 = np.uint64(14029467366897019727)
_P3 = np.uint64(1609587929392839161)
_P4 = np.uint64(9650029242287828579)
_P5 = np.uint64(2870177450012600261)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _round(acc: np.ndarray, lane: np.ndarray) -> np.ndarray:
    acc = acc + lane * _P2
    return _rotl(acc, 31) * _P1


def _avalanche(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * _P2
    h = h ^ (h >> np.uint64(29))
    h = h * _P3
    return h ^ (h >> np.uint64(32))


def _as_seed(seed: int | np.ndarray, n: int) -> np.ndarray:
    if isinstance(seed, np.ndarray):
        return seed.astype(np.uint64)
    return np.full(n, np.uint64(int(seed) & ((1 << 64) - 1)), dtype=np.uint64)


def xxh64_longs(values: np.ndarray, seed: int | np.ndarray) -> np.ndarray:
    """XXH64 of each value's 8 little-endian bytes (Spark's ``XXH64.hashLong``).

    Parameters
    ----------
    values : numpy.ndarray
        Integers (taken as int64 two's complement).
    seed : int or numpy.ndarray
        One seed, or one per value.

    Returns
    -------
    numpy.ndarray of uint64
    """
    with np.errstate(over="ignore"):
        lanes = np.asarray(values).astype(np.int64).view(np.uint64)
        h = _as_seed(seed, lanes.size) + _P5 + np.uint64(8)
        h ^= _round(np.zeros_like(h), lanes)
        h = _rotl(h, 27) * _P1 + _P4
        return _avalanche(h)


def seed_hash(seed: int) -> int:
    """The hash seed a user's seed stands for: XXH64 of the seed as a long, seed 42
    (Spark's ``xxhash64(seed, ...)`` hashes its first argument so)."""
    return int(xxh64_longs(np.array([seed], dtype=np.int64), SPARK_SEED)[0])


def _lanes(data: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """Little-endian unsigned integers of ``width`` bytes read at byte offsets ``at``."""
    value = np.zeros(at.size, dtype=np.uint64)
    for j in range(width):
        value |= data[at + j].astype(np.uint64) << np.uint64(8 * j)
    return value


def xxh64_strings(values: pa.Array | pa.ChunkedArray, seed: int | np.ndarray) -> np.ndarray:
    """XXH64 of each value's UTF-8 bytes (Spark's ``xxhash64`` of a string column).

    Null values hash to the seed itself, as in Spark (a null argument leaves the
    running hash unchanged).

    Parameters
    ----------
    values : pyarrow.Array or pyarrow.ChunkedArray
        Text; other types are cast to text first.
    seed : int or numpy.ndarray
        One seed, or one per value.

    Returns
    -------
    numpy.ndarray of uint64
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not pa.types.is_large_string(values.type):
        if not pa.types.is_string(values.type):
            values = values.cast(pa.string())
        values = values.cast(pa.large_string())  # 64-bit offsets: no overflow past 2 GB
    n = len(values)
    seeds = _as_seed(seed, n)
    valid = np.asarray(pc.is_valid(values), dtype=bool)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64, count=n + 1, offset=values.offset * 8)
    raw = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, np.uint8)
    )
    data = np.concatenate([raw, np.zeros(8, dtype=np.uint8)])  # reads past the end stay in range
    start = offsets[:-1].astype(np.int64)
    length = (offsets[1:] - offsets[:-1]).astype(np.int64)
    length[~valid] = 0
    with np.errstate(over="ignore"):
        h = seeds + _P5
        long = np.flatnonzero(length >= 32)
        if long.size:
            s = seeds[long]
            v = [s + _P1 + _P2, s + _P2, s.copy(), s - _P1]
            stripes = length[long] // 32
            for stripe in range(int(stripes.max())):
                live = stripes > stripe
                at = np.where(live, start[long] + stripe * 32, 0)
                for i in range(4):
                    lane = _lanes(data, at + 8 * i, 8)
                    v[i] = np.where(live, _round(v[i], lane), v[i])
            acc = _rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)
            for i in range(4):
                acc ^= _round(np.zeros_like(acc), v[i])
                acc = acc * _P1 + _P4
            h[long] = acc
        h = h + length.astype(np.uint64)
        pos = start + (length // 32) * 32
        rest = length % 32
        for _ in range(3):  # up to three 8-byte lanes
            live = rest >= 8
            if not live.any():
                break
            lane = _lanes(data, np.where(live, pos, 0), 8)
            mixed = _rotl(h ^ _round(np.zeros_like(h), lane), 27) * _P1 + _P4
            h = np.where(live, mixed, h)
            pos = np.where(live, pos + 8, pos)
            rest = np.where(live, rest - 8, rest)
        live = rest >= 4
        if live.any():
            word = _lanes(data, np.where(live, pos, 0), 4)
            mixed = _rotl(h ^ (word * _P1), 23) * _P2 + _P3
            h = np.where(live, mixed, h)
            pos = np.where(live, pos + 4, pos)
            rest = np.where(live, rest - 4, rest)
        for _ in range(3):  # up to three single bytes
            live = rest >= 1
            if not live.any():
                break
            byte = data[np.where(live, pos, 0)].astype(np.uint64)
            mixed = _rotl(h ^ (byte * _P5), 11) * _P1
            h = np.where(live, mixed, h)
            pos = np.where(live, pos + 1, pos)
            rest = np.where(live, rest - 1, rest)
        h = _avalanche(h)
    return np.where(valid, h, seeds)


def row_keys(
    *, seed: int, identity: pa.Array | pa.ChunkedArray | None = None, n_rows: int | None = None
) -> np.ndarray:
    """The random key of every row: ``xxhash64(seed, identity)`` as Spark computes it.

    Parameters
    ----------
    seed : int
        The user's seed (>= 0).
    identity : pyarrow array, optional
        The key column (its values as text). Without it the identity is the row's
        position ``0 .. n_rows - 1``.
    n_rows : int, optional
        The number of rows, when there is no key column.

    Returns
    -------
    numpy.ndarray of uint64
        Uniform 64-bit keys; Spark's signed ``xxhash64`` value is the same bits.
    """
    mixed = seed_hash(seed)
    if identity is None:
        if n_rows is None:
            raise ValueError("row_keys needs a key column or the number of rows")
        return xxh64_longs(np.arange(n_rows, dtype=np.int64), mixed)
    return xxh64_strings(identity, mixed)
