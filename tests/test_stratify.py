"""Stratified resampling: the same rows as the per-stratum reference, at any number of
strata, and which columns can stratify."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from balance_core import ColumnRoles, Dataset, Source
from balance_core.apply import _allocate, _largest_remainder, counts_for, resample
from balance_core.plan import plan_oversample, plan_undersample
from balance_core.stratify import MAX_STRATA, MIN_ROWS_PER_STRATUM, stratify_options


def _dataset(columns: dict, **roles) -> Dataset:
    return Dataset(
        raw=pa.table(columns),
        roles=ColumnRoles(**roles),
        source=Source(name="t.csv", format="csv", size_bytes=0),
    )


def _reference_copies(members, cell_of, groups, quota, seed, class_index, n_strata):
    """The per-stratum loop Seesaw used before (one boolean pass per stratum)."""
    sizes = np.bincount(cell_of, minlength=n_strata)
    shares = _largest_remainder(sizes, quota, seed, stream=class_index)
    copies = np.zeros(members.size, dtype=np.int64)
    for stratum in np.flatnonzero(sizes):
        inside = cell_of == stratum
        copies[inside] = _allocate(
            members[inside],
            groups[inside] if groups is not None else None,
            int(shares[stratum]),
            seed,
            stream=(class_index + 1) * 1_000_003 + int(stratum),
        )
    return copies


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 400),
    n_strata=st.integers(1, 60),
    n_groups=st.sampled_from([0, 1, 3, 40]),
    quota_share=st.floats(0.0, 3.0),
    seed=st.integers(0, 2**40),
    class_index=st.integers(0, 5),
)
def test_vectorised_strata_give_the_reference_rows(
    n, n_strata, n_groups, quota_share, seed, class_index
):
    from balance_core.apply import _allocate_strata

    rng = np.random.default_rng(seed % 1000)
    members = np.sort(rng.choice(10 * n, size=n, replace=False)).astype(np.int64)
    cell_of = rng.integers(0, n_strata, size=n).astype(np.int64)
    groups = rng.integers(0, n_groups, size=n).astype(np.int64) if n_groups else None
    quota = int(quota_share * n)
    ours = _allocate_strata(members, cell_of, groups, quota, seed, class_index, n_strata)
    reference = _reference_copies(members, cell_of, groups, quota, seed, class_index, n_strata)
    assert ours.tolist() == reference.tolist()
    assert int(ours.sum()) == quota


def test_one_value_per_ten_rows_keeps_every_stratum_share():
    n = 20_000
    labels = np.where(np.arange(n) % 5 == 0, "rare", "common")
    value = (np.arange(n) // 10).astype(str)
    ds = _dataset({"label": pa.array(labels), "site": pa.array(value)}, label="label")
    out = resample(ds, plan_undersample(counts_for(ds)), seed=3, stratify="site")
    assert out.counts() == {"common": 4000, "rare": 4000}
    # 2,000 values, 8 common rows each and 2 kept per value (8 x 4000/16000).
    kept = out.manifest.filter(pa.compute.equal(out.manifest["label"], "common"))
    per_value = np.unique(kept["site"].to_numpy(zero_copy_only=False), return_counts=True)[1]
    assert per_value.tolist() == [2] * 2000


def test_oversampling_with_strata_and_groups_is_exact():
    rng = np.random.default_rng(0)
    n = 3000
    labels = rng.choice(["a", "b", "c"], size=n, p=[0.7, 0.2, 0.1])
    ds = _dataset(
        {
            "label": pa.array(labels),
            "site": pa.array(rng.integers(0, 30, size=n).astype(str)),
            "patient": pa.array(rng.integers(0, 200, size=n).astype(str)),
        },
        label="label",
        group="patient",
    )
    plan = plan_oversample(counts_for(ds))
    first = resample(ds, plan, seed=9, stratify="site")
    again = resample(ds, plan, seed=9, stratify="site")
    assert first.counts() == plan.after
    assert first.manifest.equals(again.manifest)


def test_which_columns_can_stratify_and_why_not():
    n = 1000
    rng = np.random.default_rng(1)
    ds = _dataset(
        {
            "path": pa.array([f"img/{i}.png" for i in range(n)]),
            "label": pa.array(rng.choice(["x", "y"], size=n)),
            "attack": pa.array(rng.choice(["print", "replay", "mask"], size=n)),
            "score": pa.array(rng.random(n)),
            "site": pa.array((np.arange(n) // 5).astype(str)),
            "constant": pa.array(["one"] * n),
            "empty": pa.array([None] * n, type=pa.string()),
            "many": pa.array((np.arange(n) % (MAX_STRATA + 1)).astype(np.int64)),
        },
        label="label",
        path="path",
    )
    options = {o.column: o for o in stratify_options(ds)}
    assert [o.column for o in stratify_options(ds) if o.usable] == ["attack"]
    assert "label" not in options and "path" not in options
    assert options["attack"].distinct == 3
    assert "continuous" in options["score"].reason
    assert "200 distinct values" in options["site"].reason
    assert "group column" in options["site"].reason
    assert "only one value" in options["constant"].reason
    assert "no values" in options["empty"].reason
    assert f"{MAX_STRATA + 1} distinct values" in options["many"].reason


def test_too_few_rows_per_value_cannot_stratify():
    ds = _dataset(
        {"label": pa.array(["a", "b"] * 50), "batch": pa.array([str(i % 20) for i in range(100)])},
        label="label",
    )
    (option,) = stratify_options(ds)
    assert not option.usable
    assert "about 5.0 rows per value" in option.reason
    assert f"at least {MIN_ROWS_PER_STRATUM} rows" in option.reason


def test_stratify_options_accept_integer_codes():
    ds = _dataset(
        {"label": pa.array(["a", "b"] * 50), "fold": pa.array([1, 2, 3, 4, 5] * 20)},
        label="label",
    )
    (option,) = stratify_options(ds)
    assert option.usable and option.distinct == 5


def test_stratify_options_of_an_empty_table():
    ds = _dataset(
        {"label": pa.array([], pa.string()), "kind": pa.array([], pa.string())}, label="label"
    )
    (option,) = stratify_options(ds)
    assert not option.usable
