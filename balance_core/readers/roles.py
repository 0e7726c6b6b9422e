"""Which column is the label, the path, the split and the group: given, or guessed."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import ColumnRoles
from ..errors import DatasetError

__all__ = ["LABEL_GUESS_SAMPLE", "ROLE_NAMES", "SPLIT_VALUES", "guess_roles", "guess_sheet"]

# Common column names per role, compared after lower-casing and mapping
# spaces, dashes and dots to underscores.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "label": (
        "label", "labels", "class", "class_name", "classname", "class_label", "category",
        "target", "y", "diagnosis", "finding", "findings", "outcome", "annotation",
        "ground_truth", "gt", "tag", "is_fake", "is_spoof", "liveness", "sentiment",
        "species", "survived", "churn", "is_fraud", "fraud", "class_id",
        "category_id", "emotion", "intent", "disease",
    ),
    "path": (
        "path", "filepath", "file_path", "file", "filename", "file_name", "fname", "image",
        "image_path", "image_file", "image_name", "img", "img_path", "img_name", "uri",
        "url", "location", "relative_path", "slice_path", "dicom_path",
    ),
    "split": (
        "split", "subset", "fold", "partition", "set", "data_split", "dataset_split",
        "stage", "phase",
    ),
    "group": (
        "group", "group_id", "patient", "patient_id", "patientid", "subject",
        "subject_id", "identity", "identity_id", "person", "person_id", "video",
        "video_id", "source", "source_id", "session", "session_id", "study",
        "study_id", "case", "case_id", "speaker", "speaker_id", "user", "user_id",
        "client", "client_id", "series_id",
    ),
}  # fmt: skip
LABEL_GUESS_SAMPLE = 10_000
# Values a split column holds (lower-cased); a column named like a split whose values
# are something else (R's survey data: `Fold` is how a person folds their arms) is not
# taken as the split.
SPLIT_VALUES = frozenset(
    {
        "train", "training", "trn", "val", "valid", "validation", "dev", "development",
        "test", "testing", "tst", "holdout", "hold_out", "eval", "evaluation", "calib",
        "calibration", "unlabeled", "unlabelled", "public_test", "private_test",
    }
)  # fmt: skip
# Columns people keep beside the label to check fairness or describe a sample; with
# the same few distinct values as the label, they are the worse guess.
_DESCRIPTIVE = frozenset(
    {"sex", "gender", "race", "ethnicity", "age_group", "handedness", "year", "island"}
)
_NOTES_SHEETS = re.compile(
    r"^(read[\s_\-]?me|notes?|about|info|information|description|documentation|docs?|"
    r"legend|contents|toc|metadata|changelog|license|cover|intro(duction)?)$",
    re.IGNORECASE,
)


def _normalise_name(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip().lower())


def guess_roles(
    table: pa.Table,
    *,
    label_col: str | None = None,
    path_col: str | None = None,
    split_col: str | None = None,
    group_col: str | None = None,
) -> ColumnRoles:
    """Decide which columns are the label, path, split and group.

    Explicit choices win; otherwise a column whose name is a common name for the
    role is taken, and failing that the label is the text column with the fewest
    distinct values (at least two) in the first rows.
    """
    names = table.column_names
    given = {"label": label_col, "path": path_col, "split": split_col, "group": group_col}
    for role, column in given.items():
        if column is not None and column not in names:
            raise DatasetError(
                f"There is no column {column!r} for the {role}; the columns are "
                f"{', '.join(map(repr, names))}.",
                kind="unknown_column",
            )
    chosen: dict[str, str | None] = dict(given)
    reasons: dict[str, str] = {r: "chosen explicitly" for r, c in given.items() if c is not None}
    guessed: list[str] = []
    taken = {c for c in given.values() if c is not None}
    flat = [n for n in names if not pa.types.is_nested(table.schema.field(n).type)]
    for role in ("label", "path", "split", "group"):
        if chosen[role] is not None:
            continue
        # A nested column named like the label is still taken as the label, so the
        # Dataset refuses it by name instead of another column becoming the label.
        pool = names if role == "label" else flat
        for candidate in ROLE_NAMES[role]:
            match = next(
                (n for n in pool if n not in taken and _normalise_name(n) == candidate), None
            )
            if (
                match is not None
                and role == "split"
                and not _looks_like_splits(table.column(match))
            ):
                reasons["split"] = (
                    f"{match!r} is named like a split column but its values are not "
                    "split names (train, val, test, ...), so it is not used as one"
                )
                continue
            if match is not None:
                chosen[role] = match
                taken.add(match)
                guessed.append(role)
                reasons[role] = f"{match!r} is a common name for the {role} column"
                break
    if chosen["label"] is None:
        match, reason = _guess_label_by_cardinality(table, [n for n in flat if n not in taken])
        if match is None:
            raise DatasetError(
                "Could not tell which column holds the labels (columns: "
                f"{', '.join(map(repr, names))}); name it with label_col=... or --label-col.",
                kind="no_label_column",
            )
        chosen["label"] = match
        guessed.append("label")
        reasons["label"] = reason
    return ColumnRoles(
        label=chosen["label"],
        path=chosen["path"],
        split=chosen["split"],
        group=chosen["group"],
        guessed=tuple(guessed),
        reasons=reasons,
    )


def _looks_like_splits(column: pa.ChunkedArray) -> bool:
    head = column.slice(0, LABEL_GUESS_SAMPLE)
    if not (pa.types.is_string(head.type) or pa.types.is_large_string(head.type)):
        return False
    values = {str(v).strip().lower() for v in pc.unique(head.drop_null()).to_pylist()}
    values.discard("")
    return bool(values) and values <= SPLIT_VALUES


def guess_sheet(names: Iterable[str]) -> tuple[str, str]:
    """The worksheet that holds the data, and why: the first one, unless its name
    says it holds notes (README, About, Notes, ...) and another sheet follows.

    Examples
    --------
    >>> guess_sheet(["README", "data"])[0]
    'data'
    """
    names = list(names)
    if not names:
        raise DatasetError("The workbook has no worksheets.", kind="empty_file")
    for name in names:
        if not _NOTES_SHEETS.match(name.strip()):
            if name == names[0]:
                return name, f"{name!r} is the first sheet"
            skipped = ", ".join(repr(n) for n in names[: names.index(name)])
            return name, f"{name!r} is the first sheet after {skipped}, which hold notes"
    return names[0], f"{names[0]!r} is the first sheet"


def _guess_label_by_cardinality(
    table: pa.Table, candidates: Iterable[str]
) -> tuple[str | None, str]:
    """The text column a person would call the label: few distinct values (at least
    two, at most half the rows), and not a column that describes the sample (sex,
    year, ...) when another qualifies; ties go to the leftmost."""
    head = table.slice(0, LABEL_GUESS_SAMPLE)
    best: tuple[tuple, str, int] | None = None
    for position, name in enumerate(candidates):
        column = head.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        distinct = pc.count_distinct(column).as_py()
        present = len(column) - column.null_count
        if distinct < 2 or distinct > max(2, min(1000, present // 2)):
            continue
        score = (_normalise_name(name) in _DESCRIPTIVE, distinct, position)
        if best is None or score < best[0]:
            best = (score, name, distinct)
    if best is None:
        return None, ""
    _, name, distinct = best
    return name, (
        f"{name!r} has few distinct values ({distinct} in the first "
        f"{min(table.num_rows, LABEL_GUESS_SAMPLE):,} rows), like a label column"
    )
