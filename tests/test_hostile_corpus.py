"""Every case of the hostile corpus through the library, the CLI and the app, each
against its exact expected outcome (see ``tests/hostile_corpus.py``)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from app_session import start, unescaped, upload
from hostile_corpus import BY_ID, CASES, PANDAS_NA_STRINGS, Case
from streamlit.testing.v1 import AppTest

import balance_core as bc
from balance_core.cli import main
from ui import state

APP_CASES = [case for case in CASES if case.in_app]
PAGES = ("pages/1_Overview.py", "pages/2_Balance.py", "pages/3_Export.py")


def ids(cases: list[Case]) -> list[str]:
    return [case.id for case in cases]


def read(case: Case, source=None) -> bc.Dataset:
    return bc.read_dataset(
        case.data if source is None else source,
        name=case.filename,
        limits=bc.Limits(**case.limits),
    )


def expected_error(case: Case) -> bc.DatasetError:
    with pytest.raises(bc.DatasetError) as caught:
        read(case)
    return caught.value


def assert_one_sentence(text: str) -> None:
    """A message a person reads: one line, one closing full stop, no traceback."""
    assert "\n" not in text and "Traceback" not in text, text
    assert text.endswith(".") and not text.endswith(".."), text
    assert text[0].isupper() or text[0] in "'\"", text


def findings_of(analysis: bc.Analysis) -> list[tuple[str, int]]:
    return sorted((str(f.kind), f.count) for f in analysis.findings)


def check_result(case: Case, dataset: bc.Dataset) -> bc.Analysis:
    analysis = bc.analyze(dataset)
    dist = analysis.distribution
    assert dist.counts == case.counts
    assert dist.missing_labels == case.missing
    assert findings_of(analysis) == sorted(case.findings)
    messages = " ".join(f.message for f in analysis.findings)
    for phrase in case.says:
        assert phrase in messages, (phrase, messages)
    for column, values in case.columns.items():
        assert dataset.raw.column(column).to_pylist() == values, column
    return analysis


# --------------------------------------------------------------------------- the corpus


def test_the_corpus_is_large_and_covers_every_area():
    assert len(CASES) >= 50
    areas = Counter(case.area for case in CASES)
    assert areas["zip"] >= 30 and areas["image"] >= 12 and areas["table"] >= 30
    assert areas["output"] >= 4
    assert sum(case.error is not None for case in CASES) >= 30
    assert sum(case.error is None for case in CASES) >= 30
    assert {case.error for case in CASES} >= {
        "zip_bomb", "limit_hit", "corrupt_zip", "no_images", "no_label_column",
        "unsupported_format", "empty_file", "header_only", "ragged_rows", "duplicate_columns",
        "binary_file", "nested_json", "nested_column", "uncached_formula", "bad_json_shape",
        "sparse_json",
    }  # fmt: skip


def test_the_19_na_strings_are_the_ones_pandas_uses():
    from pandas._libs.parsers import STR_NA_VALUES

    assert len(PANDAS_NA_STRINGS) == 19
    assert set(PANDAS_NA_STRINGS) == set(STR_NA_VALUES)


def test_every_limit_hit_names_the_limit_and_how_to_raise_it():
    for case in CASES:
        if case.error != "limit_hit":
            continue
        message = str(expected_error(case))
        limit = next(name for name in bc.Limits.__dataclass_fields__ if name in message)
        assert f"Limits({limit}=...)" in message and f"--limit {limit}=N" in message


# --------------------------------------------------------------------------- library


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_library(case: Case, tmp_path: Path):
    path = tmp_path / case.filename
    path.write_bytes(case.data)
    for source in (case.data, path):
        if case.error is not None:
            with pytest.raises(bc.DatasetError) as caught:
                read(case, source)
            error = caught.value
            assert error.kind == case.error, str(error)
            assert_one_sentence(str(error))
            for phrase in case.says:
                assert phrase in str(error), (phrase, str(error))
        else:
            check_result(case, read(case, source))


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_cli(case: Case, tmp_path: Path, capsys):
    path = tmp_path / case.filename
    path.write_bytes(case.data)
    status = main(["analyze", str(path), "--json", *case.cli_limits])
    out, err = capsys.readouterr()
    if case.error is not None:
        assert status == 2 and out == ""
        assert err == f"error: {expected_error(case)}\n"
        return
    assert status == 0 and err == ""
    report = json.loads(out)
    assert report["counts"] == case.counts
    assert report["missing_labels"] == case.missing
    assert sorted((f["kind"], f["count"]) for f in report["findings"]) == sorted(case.findings)


@pytest.mark.parametrize(
    "case_id",
    [
        "zip_overlapping_entries",
        "zip_entry_flood_declared",
        "tbl_huge_cell",
        "tbl_binary_named_csv",
    ],
)
def test_cli_in_a_real_process_exits_2_with_one_sentence(case_id: str, tmp_path: Path):
    case = BY_ID[case_id]
    (tmp_path / case.filename).write_bytes(case.data)
    result = subprocess.run(
        [sys.executable, "-m", "balance_core", "analyze", case.filename],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"error: {expected_error(case)}\n"
    assert_one_sentence(result.stderr.removeprefix("error: ").rstrip("\n"))


# --------------------------------------------------------------------------- app


@pytest.fixture(scope="module")
def app() -> AppTest:
    """One browser session for the whole corpus: after every upload, good or bad,
    the next one must still work."""
    return start()


@pytest.mark.parametrize("case", APP_CASES, ids=ids(APP_CASES))
def test_app(case: Case, app: AppTest):
    at = app.switch_page("app.py").run()
    before = at.session_state[state.DATASET]
    upload(at, case.filename, case.data)
    assert not at.exception, at.exception
    errors = [unescaped(e.value) for e in at.error]
    if case.error is not None:
        assert errors == [str(expected_error(case))]
        assert at.session_state[state.DATASET] is before  # the previous data stays
        return
    assert errors == []
    current = at.session_state[state.DATASET]
    assert current.name == case.filename and current.size == len(case.data)
    assert current.sha256 == hashlib.sha256(case.data).hexdigest()
    expected = check_result(case, read(case))
    assert current.distribution.counts == case.counts
    assert next(m.value for m in at.metric if m.label == "Rows") == (
        f"{expected.distribution.n_rows:,}"
    )
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        shown = [unescaped(e.value) for e in at.error]
        allowed = []
        if page == PAGES[0] and expected.distribution.verdict == bc.Verdict.SEVERE:
            allowed.append(expected.distribution.verdict_reason)
        # Balancing works on the training split when there is one.
        balanced = expected.distribution.split_counts.get("train", case.counts)
        if page != PAGES[0] and len(balanced) == 1:
            label = next(iter(balanced))
            allowed.append(f"There is only one class ({label!r}); balancing needs at least two.")
        assert shown == allowed, (page, shown)
