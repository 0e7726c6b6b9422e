"""The pandas engine on XXH64 row keys (key version 2), and old recipes on SplitMix64."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import xxhash

from balance_core import ColumnRoles, Dataset, Source
from balance_core.apply import _smallest, _splitmix, counts_for, resample
from balance_core.plan import plan_oversample, plan_undersample
from balance_core.recipe import Recipe, Strategy, recipe_problems, run

LABELS = ["a"] * 60 + ["b"] * 25 + ["c"] * 9


def _dataset(*, path: bool = True) -> Dataset:
    columns = {"label": pa.array(LABELS)}
    if path:
        columns["path"] = pa.array([f"img/{i:04d}.png" for i in range(len(LABELS))])
    return Dataset(
        raw=pa.table(columns),
        roles=ColumnRoles(label="label", path="path" if path else None),
        source=Source(name="t.csv", format="csv", size_bytes=0),
    )


def _rows(resampled) -> list[int]:
    return resampled.manifest["row"].to_pylist()


def _reference_smallest(identities: list, seed: int, k: int) -> set:
    """The k rows with the smallest xxhash64(seed, identity), by the C reference."""
    mixed = xxhash.xxh64_intdigest(seed.to_bytes(8, "little"), seed=42)
    keys = []
    for i, identity in identities:
        data = identity.encode() if isinstance(identity, str) else identity.to_bytes(8, "little")
        keys.append((xxhash.xxh64_intdigest(data, seed=mixed), i))
    return {i for _, i in sorted(keys)[:k]}


def test_version_2_keeps_the_smallest_xxhash_keys_of_the_path():
    dataset = _dataset()
    plan = plan_undersample(counts_for(dataset))
    rows = _rows(resample(dataset, plan, seed=5, key_version=2))
    paths = dataset.raw["path"].to_pylist()
    expected = set()
    for label in "abc":
        members = [(i, paths[i]) for i, v in enumerate(LABELS) if v == label]
        expected |= _reference_smallest(members, 5, 9)
    assert sorted(rows) == sorted(expected)


def test_version_2_without_a_path_keys_the_row_position():
    dataset = _dataset(path=False)
    plan = plan_undersample(counts_for(dataset))
    rows = _rows(resample(dataset, plan, seed=3, key_version=2))
    expected = set()
    for label in "abc":
        members = [(i, i) for i, v in enumerate(LABELS) if v == label]
        expected |= _reference_smallest(members, 3, 9)
    assert sorted(rows) == sorted(expected)


def test_version_1_is_splitmix_of_the_row_number_as_before():
    dataset = _dataset()
    plan = plan_undersample(counts_for(dataset))
    rows = set(_rows(resample(dataset, plan, seed=5)))
    expected = set()
    for index, label in enumerate("abc"):
        members = np.flatnonzero(np.array(LABELS) == label)
        expected |= set(members[_smallest(_splitmix(members, 5, index), 9)].tolist())
    assert rows == expected
    assert rows != set(_rows(resample(dataset, plan, seed=5, key_version=2)))


def test_old_recipe_replays_version_1_and_new_recipe_writes_version_2():
    dataset = _dataset()
    new = Recipe(strategy=Strategy(method="oversample"), seed=2, split=None)
    payload = json.loads(new.to_json())
    assert payload["key_version"] == 2 and payload["key_col"] is None
    assert Recipe.from_json(new.to_json()).key_version == 2
    del payload["key_version"], payload["key_col"]
    old = Recipe.from_json(json.dumps(payload))
    assert old.key_version == 1
    plan = plan_oversample(counts_for(dataset))
    old_rows = run(old, dataset).resampled.manifest["row"].to_pylist()
    assert old_rows == resample(dataset, plan, seed=2, key_version=1).manifest["row"].to_pylist()
    new_rows = run(new, dataset).resampled.manifest["row"].to_pylist()
    assert new_rows == resample(dataset, plan, seed=2, key_version=2).manifest["row"].to_pylist()
    assert old_rows != new_rows


def test_recipe_key_fields_are_validated():
    payload = json.loads(Recipe(strategy=Strategy(method="undersample")).to_json())
    payload["key_version"] = 3
    payload["key_col"] = 7
    problems = recipe_problems(payload)
    assert "key_version must be 1 or 2, not a number" in problems
    assert "key_col must be text or null, not a number" in problems


def test_key_col_names_the_identity():
    dataset = _dataset()
    plan = plan_undersample(counts_for(dataset))
    by_label = _rows(resample(dataset, plan, seed=1, key_version=2, key_col="label"))
    by_path = _rows(resample(dataset, plan, seed=1, key_version=2))
    assert len(by_label) == len(by_path) == 27 and by_label != by_path
