"""Splits: against scikit-learn's stratified splitters and iterative-stratification on
the same data, plus reproducibility, minimums, re-splits and the output table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from balance_core.dataset import ColumnRoles, Dataset, Source
from balance_core.errors import DatasetError
from balance_core.splits import (
    SplitParams,
    _text_hashes,
    iterative_stratification,
    parse_proportions,
    split_dataset,
    with_split_column,
)


def make_dataset(columns: dict, **roles) -> Dataset:
    table = pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()})
    return Dataset(
        raw=table,
        roles=ColumnRoles(**roles),
        source=Source(name="t.csv", format="csv", size_bytes=0),
    )


def max_share_gap(assignment: np.ndarray, labels: np.ndarray, shares) -> float:
    """Largest |share of a class's rows in a split - the split's proportion|."""
    worst = 0.0
    for label in np.unique(labels):
        of_class = assignment[labels == label]
        for s, share in enumerate(shares):
            worst = max(worst, abs(float(np.mean(of_class == s)) - share))
    return worst


def grouped_labels(seed: int, n: int, n_groups: int, purity: float, shares):
    """Rows in groups; a row takes its group's class with probability ``purity``."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, n)
    group_class = rng.choice(len(shares), n_groups, p=shares)
    own = rng.choice(len(shares), n, p=shares)
    code = np.where(rng.random(n) < purity, group_class[group], own)
    return np.array([f"class_{c}" for c in code]), group


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("train=0.8,val=0.1,test=0.1", (("train", 0.8), ("val", 0.1), ("test", 0.1))),
        ("train=80,test=20", (("train", 0.8), ("test", 0.2))),
        ("80/10/10", (("train", 0.8), ("val", 0.1), ("test", 0.1))),
        ("fit=0.5, tune=0.25, holdout=0.25", (("fit", 0.5), ("tune", 0.25), ("holdout", 0.25))),
    ],
)
def test_parse_proportions(text, expected):
    parsed = parse_proportions(text)
    assert [name for name, _ in parsed] == [name for name, _ in expected]
    assert np.allclose([v for _, v in parsed], [v for _, v in expected])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("train=0.8,test=0.1", "add up to 1"),
        ("train=0.8,train=0.2", "same name"),
        ("train=1", "at least two"),
        ("train=x,test=0.5", "must be a number"),
        ("train=1.2,test=-0.2", "above 0"),
        ("50/20/20/10", "Name the splits"),
    ],
)
def test_bad_proportions_say_what_is_wrong(text, words):
    with pytest.raises(DatasetError, match=words):
        parse_proportions(text)


def test_params_round_trip_through_a_dict():
    params = SplitParams(proportions={"train": 0.7, "val": 0.2, "test": 0.1}, seed=9,
                         use_groups=False, min_per_class=2)  # fmt: skip
    again = SplitParams.from_dict(params.to_dict())
    assert again == params
    assert again.names == ("train", "val", "test")
    with pytest.raises(DatasetError, match="not a Seesaw split record"):
        SplitParams.from_dict({"proportions": {"a": 1}})
    with pytest.raises(DatasetError, match="unknown field"):
        SplitParams.from_dict(params.to_dict() | {"stratify": "x"})
    with pytest.raises(DatasetError, match="seed"):
        SplitParams(proportions={"a": 0.5, "b": 0.5}, seed=-1)


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize("shares", [(0.8, 0.2), (0.7, 0.3), (0.5, 0.5)])
def test_no_groups_as_close_as_train_test_split(shares):
    ours_gaps, theirs_gaps = [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        n = 3001
        labels = rng.choice(["a", "b", "c", "d", "e"], n, p=[0.55, 0.25, 0.12, 0.05, 0.03])
        dataset = make_dataset({"label": labels.tolist()}, label="label")
        result = split_dataset(
            dataset, SplitParams(proportions={"train": shares[0], "test": shares[1]}, seed=seed)
        )
        train, _ = train_test_split(
            np.arange(n), test_size=shares[1], stratify=labels, random_state=seed
        )
        reference = np.ones(n, dtype=int)
        reference[train] = 0
        ours_gaps.append(max_share_gap(result.assignment, labels, shares))
        theirs_gaps.append(max_share_gap(reference, labels, shares))
        # scikit-learn's tolerance: every class count within one row of n_c * share,
        # and so is every split's size.
        target = np.array(shares)[:, None] * result.counts.sum(axis=0)[None, :]
        assert np.abs(result.counts - target).max() < 1.0
        assert abs(result.rows_per_split["test"] - shares[1] * n) < 1.0
    assert np.mean(ours_gaps) <= np.mean(theirs_gaps) + 1e-12, (ours_gaps, theirs_gaps)


SCENARIOS = [
    # rows, groups, purity (share of a group's rows in its own class), class shares
    (20_000, 400, 0.9, (0.6, 0.3, 0.1)),
    (20_000, 2_000, 0.5, (0.85, 0.1, 0.05)),
    (5_000, 300, 1.0, (0.5, 0.3, 0.15, 0.05)),
    (30_000, 1_000, 0.0, (0.7, 0.2, 0.1)),
]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("three_way", [False, True])
def test_groups_as_close_as_stratified_group_kfold_without_leakage(scenario, three_way):
    n, n_groups, purity, class_shares = scenario
    shares = (0.8, 0.1, 0.1) if three_way else (0.8, 0.2)
    names = ("train", "val", "test") if three_way else ("train", "test")
    ours_gaps, theirs_gaps = [], []
    for seed in range(6):
        labels, group = grouped_labels(seed, n, n_groups, purity, class_shares)
        folds = 10 if three_way else 5
        fold_of = np.empty(n, dtype=int)
        splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
        for fold, (_, test) in enumerate(splitter.split(np.zeros(n), labels, group)):
            fold_of[test] = fold
        # Fold 0 is the test split (and fold 1 validation): a partition, as ours.
        if three_way:
            reference = np.where(fold_of == 0, 2, np.where(fold_of == 1, 1, 0))
        else:
            reference = (fold_of == 0).astype(int)
        dataset = make_dataset(
            {"label": labels.tolist(), "patient": [f"p{g}" for g in group]},
            label="label",
            group="patient",
        )
        result = split_dataset(
            dataset,
            SplitParams(proportions=dict(zip(names, shares, strict=True)), seed=seed,
                        min_per_class=0),
        )  # fmt: skip
        for assignment in (reference, result.assignment):
            pairs = set(zip(group.tolist(), assignment.tolist(), strict=True))
            assert len(pairs) == len(set(group.tolist())), "a group in two splits"
        ours_gaps.append(max_share_gap(result.assignment, labels, shares))
        theirs_gaps.append(max_share_gap(reference, labels, shares))
    assert np.mean(ours_gaps) <= np.mean(theirs_gaps) + 1e-12, (ours_gaps, theirs_gaps)


def label_pair_distribution(y: np.ndarray, assignment: np.ndarray, n_subsets: int) -> float:
    """Sechidis et al.'s LPD: mean over label pairs and subsets of
    | share of samples with both labels in the subset - in the whole data |."""
    gaps = []
    for i in range(y.shape[1]):
        for j in range(i + 1, y.shape[1]):
            both = (y[:, i] & y[:, j]).astype(bool)
            if both.any():
                gaps += [abs(both[assignment == s].mean() - both.mean()) for s in range(n_subsets)]
    return float(np.mean(gaps))


def label_distribution(y: np.ndarray, assignment: np.ndarray, n_subsets: int) -> float:
    return float(
        np.mean(
            [
                abs(y[assignment == s, k].mean() - y[:, k].mean())
                for k in range(y.shape[1])
                for s in range(n_subsets)
            ]
        )
    )


def multilabel_matrix(seed: int, n: int = 2000, n_labels: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_labels)) < rng.uniform(0.02, 0.4, n_labels)).astype(int)
    y[:, 1] |= y[:, 0] & (rng.random(n) < 0.5)  # correlated labels make pairs matter
    return y


def test_multilabel_label_pairs_no_worse_than_iterative_stratification():
    ours_lpd, theirs_lpd, ours_ld, theirs_ld = [], [], [], []
    for seed in range(8):
        y = multilabel_matrix(seed)
        n = y.shape[0]
        ours = iterative_stratification(y, [0.8, 0.2], seed=seed)
        splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=seed)
        _, test = next(splitter.split(np.zeros(n), y))
        theirs = np.zeros(n, dtype=int)
        theirs[test] = 1
        assert np.count_nonzero(ours == 1) == np.count_nonzero(theirs == 1)
        ours_lpd.append(label_pair_distribution(y, ours, 2))
        theirs_lpd.append(label_pair_distribution(y, theirs, 2))
        ours_ld.append(label_distribution(y, ours, 2))
        theirs_ld.append(label_distribution(y, theirs, 2))
    assert np.mean(ours_lpd) <= np.mean(theirs_lpd), (ours_lpd, theirs_lpd)
    # Pairs are not bought with worse single labels.
    assert np.mean(ours_ld) <= np.mean(theirs_ld) * 1.05, (ours_ld, theirs_ld)


def test_first_order_is_the_papers_algorithm_on_par_with_the_reference():
    ours_ld, theirs_ld = [], []
    for seed in range(8):
        y = multilabel_matrix(seed)
        n = y.shape[0]
        ours = iterative_stratification(y, [0.8, 0.2], seed=seed, order=1)
        _, test = next(
            MultilabelStratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=seed).split(
                np.zeros(n), y
            )
        )
        theirs = np.zeros(n, dtype=int)
        theirs[test] = 1
        ours_ld.append(label_distribution(y, ours, 2))
        theirs_ld.append(label_distribution(y, theirs, 2))
    assert np.mean(ours_ld) <= np.mean(theirs_ld) * 1.05, (ours_ld, theirs_ld)


def test_multilabel_accepts_label_sets_and_matrices_alike():
    y = multilabel_matrix(3, n=300, n_labels=5)
    names = np.array(list("abcde"))
    sets = [set(names[row.astype(bool)]) for row in y]
    from_matrix = iterative_stratification(y, [0.6, 0.2, 0.2], seed=4)
    from_sets = iterative_stratification(sets, [0.6, 0.2, 0.2], seed=4)
    assert np.array_equal(from_matrix, from_sets)
    assert sorted(np.bincount(from_matrix).tolist()) == [60, 60, 180]


# --------------------------------------------------------------------------- reproducible


def lung_like(n: int = 2000, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    patients = rng.integers(0, 120, n)
    cancer = rng.random(120) < 0.2
    labels = np.where(cancer[patients] & (rng.random(n) < 0.6), "cancer", "normal")
    return {
        "path": [f"scans/{i:05d}.png" for i in range(n)],
        "label": labels.tolist(),
        "patient": [f"patient-{p:03d}" for p in patients],
    }


@pytest.mark.parametrize("use_groups", [True, False])
def test_row_order_does_not_change_any_rows_split(use_groups):
    columns = lung_like()
    params = SplitParams(proportions={"train": 0.7, "val": 0.15, "test": 0.15}, seed=5,
                         use_groups=use_groups)  # fmt: skip
    dataset = make_dataset(columns, label="label", path="path", group="patient")
    first = split_dataset(dataset, params)
    order = np.random.default_rng(1).permutation(len(columns["path"]))
    shuffled = make_dataset(
        {k: [v[i] for i in order] for k, v in columns.items()},
        label="label",
        path="path",
        group="patient",
    )
    second = split_dataset(shuffled, params)
    before = dict(zip(columns["path"], first.split_column.to_pylist(), strict=True))
    after = dict(
        zip([columns["path"][i] for i in order], second.split_column.to_pylist(), strict=True)
    )
    assert before == after


def test_same_seed_same_split_other_seed_other_split():
    dataset = make_dataset(lung_like(), label="label", path="path", group="patient")
    params = SplitParams(proportions={"train": 0.8, "test": 0.2}, seed=1)
    a = split_dataset(dataset, params).assignment
    b = split_dataset(dataset, params).assignment
    c = split_dataset(dataset, SplitParams(proportions={"train": 0.8, "test": 0.2}, seed=2))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c.assignment)


def test_text_hash_depends_on_the_bytes_only():
    values = ["", "a", "b", "ab", "ba", "a\x00", "é", "patient-001", None, "x" * 5000]
    plain = _text_hashes(pa.array(values, type=pa.string()))
    large = _text_hashes(pa.array(values, type=pa.large_string()))
    chunked = _text_hashes(pa.chunked_array([values[:4], values[4:]], type=pa.string()))
    sliced = _text_hashes(pa.array(["zz", *values], type=pa.string()).slice(1))
    assert np.array_equal(plain, large)
    assert np.array_equal(plain, chunked)
    assert np.array_equal(plain, sliced)
    present = [h for h, v in zip(plain.tolist(), values, strict=True) if v is not None]
    assert len(set(present)) == len(present)
    # The contract with recorded splits: these bytes hash to this value everywhere.
    assert int(_text_hashes(pa.array(["patient-001"]))[0]) == PINNED_HASH


PINNED_HASH = 15256197223781000700


# --------------------------------------------------------------------------- minimums


def test_minimum_per_class_refused_with_the_reason():
    columns = {"label": ["a"] * 50 + ["rare"] * 2}
    dataset = make_dataset(columns, label="label")
    params = SplitParams(proportions={"train": 0.8, "val": 0.1, "test": 0.1})
    with pytest.raises(DatasetError, match=r"'rare' has 2 row\(s\), too few for at least 1"):
        split_dataset(dataset, params)
    relaxed = split_dataset(
        dataset, SplitParams(proportions={"train": 0.8, "val": 0.1, "test": 0.1},
                             min_per_class=0),
    )  # fmt: skip
    assert relaxed.counts.sum() == 52


def test_minimum_per_class_refused_when_groups_are_too_few():
    columns = {
        "label": ["a"] * 60 + ["rare"] * 6,
        "patient": [f"p{i % 20}" for i in range(60)] + ["r1"] * 3 + ["r2"] * 3,
    }
    dataset = make_dataset(columns, label="label", group="patient")
    with pytest.raises(DatasetError, match="only 2 group"):
        split_dataset(dataset, SplitParams(proportions={"train": 0.8, "val": 0.1, "test": 0.1}))


def test_minimum_met_by_moving_whole_groups():
    # Three equal groups of the rare class: the greedy alone would put all three in
    # train (80 % wants them all); the minimum moves one to each split.
    columns = {
        "label": ["a"] * 300 + ["rare"] * 30,
        "patient": [f"p{i % 60}" for i in range(300)] + [f"r{i // 10}" for i in range(30)],
    }
    dataset = make_dataset(columns, label="label", group="patient")
    result = split_dataset(dataset, SplitParams(proportions={"train": 0.8, "val": 0.1,
                                                             "test": 0.1}))  # fmt: skip
    rare = result.classes.index("rare")
    assert result.counts[:, rare].tolist() == [10, 10, 10]
    leaks = set(zip(columns["patient"], result.assignment.tolist(), strict=True))
    assert len(leaks) == len(set(columns["patient"]))


def test_rows_without_a_label_are_split_too():
    columns = {"label": ["a"] * 40 + ["b"] * 40 + [None] * 20}
    dataset = make_dataset(columns, label="label")
    result = split_dataset(dataset, SplitParams(proportions={"train": 0.5, "test": 0.5}))
    assert result.assignment.size == 100
    assert result.unlabelled.tolist() == [10, 10]
    assert sum(result.rows_per_split.values()) == 100


def test_largest_deviation_is_the_worst_cell():
    dataset = make_dataset(lung_like(seed=3), label="label", group="patient")
    result = split_dataset(dataset, SplitParams(proportions={"train": 0.6, "val": 0.2,
                                                             "test": 0.2}))  # fmt: skip
    worst = result.largest_deviation
    gaps = {(d.label, d.split): abs(d.achieved - d.asked) for d in result.deviations()}
    assert abs(worst.achieved - worst.asked) == max(gaps.values())
    assert gaps[(worst.label, worst.split)] == max(gaps.values())
    labels = np.array(lung_like(seed=3)["label"])
    of_class = result.assignment[labels == worst.label]
    assert worst.rows == int(np.count_nonzero(of_class == result.names.index(worst.split)))
    assert worst.label in result.summary()[1] and "Largest deviation" in result.summary()[1]


# --------------------------------------------------------------------------- re-split


def leaky_split(seed: int = 1) -> dict:
    """Whole-patient splits whose test mix is skewed, and 1 % of rows leaked."""
    rng = np.random.default_rng(seed)
    n, n_groups = 5000, 400
    group = rng.integers(0, n_groups, n)
    group_class = rng.choice(3, n_groups, p=[0.7, 0.2, 0.1])
    code = np.where(rng.random(n) < 0.8, group_class[group], rng.choice(3, n, p=[0.7, 0.2, 0.1]))
    group_split = np.where(rng.random(n_groups) < 0.8, "train", "test")
    group_split[(group_class == 2) & (rng.random(n_groups) < 0.5)] = "test"
    split = group_split[group].copy()
    leak = rng.random(n) < 0.01
    split[leak] = np.where(split[leak] == "train", "test", "train")
    return {
        "label": np.array(["a", "b", "c"])[code].tolist(),
        "patient": [f"p{g}" for g in group],
        "split": split.tolist(),
    }


def test_resplit_reunites_groups_fixes_the_mix_and_moves_little():
    columns = leaky_split()
    dataset = make_dataset(columns, label="label", group="patient", split="split")
    params = SplitParams(proportions={"train": 0.8, "test": 0.2}, mode="resplit")
    result = split_dataset(dataset, params)
    pairs = set(zip(columns["patient"], result.assignment.tolist(), strict=True))
    assert len(pairs) == len(set(columns["patient"]))
    assert result.reunited_groups > 0
    labels = np.array(columns["label"])
    before = np.array([0 if s == "train" else 1 for s in columns["split"]])
    assert max_share_gap(result.assignment, labels, (0.8, 0.2)) < 0.02
    assert max_share_gap(before, labels, (0.8, 0.2)) > 0.1
    fresh = split_dataset(dataset, SplitParams(proportions={"train": 0.8, "test": 0.2}))
    fresh_moved = np.count_nonzero(
        np.array(fresh.split_column.to_pylist()) != np.array(columns["split"])
    )
    assert result.moved_rows.size < fresh_moved / 2
    moves = result.moves()
    assert sum(moves.values()) == result.moved_rows.size
    assert set(moves) <= {("train", "test"), ("test", "train")}
    assert "Moved" in result.summary()[-1]


def test_resplit_of_a_good_split_moves_nothing():
    columns = {"label": (["a"] * 80 + ["b"] * 20) * 2, "split": ["train"] * 100 + ["test"] * 100}
    dataset = make_dataset(columns, label="label", split="split")
    result = split_dataset(dataset, SplitParams(mode="resplit"))
    assert result.params.proportions == (("train", 0.5), ("test", 0.5))
    assert result.moved_rows.size == 0


def test_resplit_needs_a_split_column():
    dataset = make_dataset({"label": ["a", "b"] * 10}, label="label")
    with pytest.raises(DatasetError, match="split column, and this data has none"):
        split_dataset(dataset, SplitParams(mode="resplit"))


# --------------------------------------------------------------------------- output


def test_with_split_column_keeps_every_column_and_row():
    columns = lung_like(n=300)
    columns["note"] = ["=1+1"] * 300
    dataset = make_dataset(columns, label="label", path="path", group="patient")
    result = split_dataset(dataset, SplitParams(proportions={"train": 0.8, "test": 0.2}))
    table = with_split_column(dataset, result)
    assert table.column_names == ["path", "label", "patient", "note", "split"]
    assert table.num_rows == 300
    assert table.drop_columns(["split"]).equals(dataset.raw)
    assert table["split"].to_pylist() == result.split_column.to_pylist()
    # A split column already there is replaced where it stands.
    resplit_data = make_dataset(table.to_pydict(), label="label", split="split")
    again = split_dataset(resplit_data, SplitParams(proportions={"a": 0.5, "b": 0.5}))
    replaced = with_split_column(resplit_data, again)
    assert replaced.column_names == table.column_names
    assert set(replaced["split"].to_pylist()) == {"a", "b"}
