"""The manifest keeps the user's column names, values and types (issue 10, item 4), adds
only row / class_index / original_label / copy, and numbers classes as training code does."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from balance_core import ColumnRoles, Dataset, Source
from balance_core.apply import counts_for, resample
from balance_core.examples import lung_ct_csv
from balance_core.export import table_parquet
from balance_core.plan import plan_oversample, plan_undersample
from balance_core.readers import read_dataset


def test_lung_ct_manifest_keeps_diagnosis_and_patient_id():
    ds = read_dataset(io.BytesIO(lung_ct_csv()), name="lung.csv", group_col="patient_id")
    out = resample(ds, plan_undersample(counts_for(ds)), seed=1)
    assert out.manifest.column_names == [
        "row", "path", "patient_id", "slice_index", "diagnosis", "scanner", "class_index", "copy",
    ]  # fmt: skip
    kept = out.manifest["row"].to_pylist()
    assert out.manifest["diagnosis"].to_pylist() == ds.raw["diagnosis"].take(kept).to_pylist()
    assert out.counts() == out.plan.after
    assert out.dropped.column_names[-1] == "reason"


def _typed_dataset() -> Dataset:
    table = pa.table(
        {
            "row": pa.array(["r0", "r1", "r2", "r3", "r4"]),
            "target": pa.array([1, 10, 2, 10, 10], pa.int64()),
            "score": pa.array([0.5, 1.5, 2.5, 3.5, 4.5]),
        }
    )
    return Dataset(
        raw=table,
        roles=ColumnRoles(label="target"),
        source=Source(name="t.parquet", format="parquet", size_bytes=0),
    )


def test_types_stay_as_written_and_added_names_never_clobber():
    ds = _typed_dataset()
    out = resample(ds, plan_oversample(counts_for(ds)), seed=0)
    manifest = pq.read_table(io.BytesIO(table_parquet(out.manifest)))
    assert manifest.column_names == ["seesaw_row", "row", "target", "score", "class_index", "copy"]
    assert manifest.schema.field("target").type == pa.int64()
    assert manifest.schema.field("score").type == pa.float64()
    # Numeric labels: class_index in numeric order (1 -> 0, 2 -> 1, 10 -> 2), not text order.
    pairs = set(
        zip(manifest["target"].to_pylist(), manifest["class_index"].to_pylist(), strict=True)
    )
    assert pairs == {(1, 0), (2, 1), (10, 2)}
    assert out.counts() == {"1": 3, "10": 3, "2": 3}


def test_a_label_mapping_keeps_the_written_label_beside_the_new_one():
    ds = _typed_dataset()
    mapping = {"2": "1"}
    out = resample(ds, plan_undersample(counts_for(ds, mapping=mapping)), seed=0, mapping=mapping)
    assert out.manifest.column_names[-2:] == ["original_label", "copy"]
    originals = out.manifest["original_label"].to_pylist()
    assert set(originals) <= {1, 2, 10}  # the user's integers, as written
    assert set(out.manifest["target"].to_pylist()) == {"1", "10"}
