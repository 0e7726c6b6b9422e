"""The server budget: its settings, the worker process's memory and time limits,
the byte-bounded shared cache and the output limits in the app (AppTest)."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pytest
from app_session import start, unescaped, upload
from server_bombs import parquet_dictionary_bomb
from server_jobs import interval, reporter, sleeper

import balance_core as bc
from balance_core.recipe import Recipe, Strategy
from ui import jobs, state
from ui.cache import ByteCache, nbytes
from ui.limits import (
    CONFIG_FILE,
    DEFAULT_SERVER_BUDGET,
    LimitsConfigError,
    ServerBudget,
    config_file,
    server_budget,
)
from ui.worker import Budget, run_job

ROOT = Path(__file__).resolve().parents[1]
BUDGET = Budget(memory_bytes=512 * 1024**2, timeout_s=60, max_jobs=2)


# --- settings ----------------------------------------------------------------------


def test_server_budget_defaults_and_overrides(tmp_path):
    assert server_budget(tmp_path / "missing.toml") == DEFAULT_SERVER_BUDGET
    config = tmp_path / "seesaw.toml"
    config.write_text("[server_budget]\nworker_memory_mb = 256\ncache_mb = 64\n")
    assert server_budget(config) == ServerBudget(worker_memory_mb=256, cache_mb=64)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[server_budget]\nworker_ram = 1\n", "'worker_ram', which is not a setting"),
        ("[server_budget]\ncache_mb = 0\n", "cache_mb must be a whole number above 0"),
        ("[server_budget]\nmax_workers = 1.5\n", "max_workers must be a whole number"),
        ("[server_budget]\nworker_timeout_s = true\n", "worker_timeout_s must be a whole"),
        ("server_budget = 3\n", "'server_budget' must be a table"),
        ("[server_budget\n", "is not valid TOML"),
    ],
)
def test_server_budget_refuses_a_bad_file_in_one_sentence(tmp_path, text, needle):
    config = tmp_path / "seesaw.toml"
    config.write_text(text)
    with pytest.raises(LimitsConfigError, match=r"In '|is not valid TOML") as error:
        server_budget(config)
    assert needle in str(error.value)


def test_seesaw_config_names_another_settings_file(tmp_path, monkeypatch):
    config = tmp_path / "other.toml"
    config.write_text("[server_budget]\nmax_workers = 1\n")
    monkeypatch.delenv("SEESAW_CONFIG", raising=False)
    assert config_file() == CONFIG_FILE
    monkeypatch.setenv("SEESAW_CONFIG", str(config))
    assert server_budget().max_workers == 1


def test_the_shipped_settings_file_lists_every_setting_with_its_default():
    section = CONFIG_FILE.read_text().split("[server_budget]", 1)[1]
    settings = re.findall(r"^# (\w+ = [\d_]+)", section, flags=re.MULTILINE)
    table = tomllib.loads("\n".join(settings))
    assert table == {
        name: getattr(DEFAULT_SERVER_BUDGET, name) for name in ServerBudget.__dataclass_fields__
    }
    assert server_budget(CONFIG_FILE) == DEFAULT_SERVER_BUDGET  # all commented out


# --- the worker --------------------------------------------------------------------


def test_a_file_read_in_the_worker_is_the_librarys_reading(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("path,label,patient\n" + "".join(f"{i}.png,{'ab'[i % 3 == 0]},p{i % 7}\n"
                                                     for i in range(3000)))  # fmt: skip
    got = run_job(jobs.read_and_analyze, path, "labels.csv", bc.DEFAULT_LIMITS, budget=BUDGET,
                  what="Reading")  # fmt: skip
    want = bc.analyze(bc.read_dataset(path, name="labels.csv"))
    assert got.distribution.counts == want.distribution.counts == {"a": 2000, "b": 1000}
    assert got.dataset.raw.equals(want.dataset.raw)
    assert [f.kind for f in got.findings] == [f.kind for f in want.findings]


def test_the_readers_sentence_comes_back_from_the_worker(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(bc.DatasetError) as direct:
        bc.read_dataset(path, name="empty.csv")
    with pytest.raises(bc.DatasetError) as worker:
        run_job(jobs.read_and_analyze, path, "empty.csv", bc.DEFAULT_LIMITS, budget=BUDGET,
                what="Reading")  # fmt: skip
    assert (str(worker.value), worker.value.kind) == (str(direct.value), direct.value.kind)


def test_a_parquet_dictionary_bomb_stops_in_the_worker_not_the_server(tmp_path):
    path = tmp_path / "bomb.parquet"
    path.write_bytes(parquet_dictionary_bomb())  # 4 GB once decoded
    before = psutil.Process().memory_info().rss
    # The reader refuses it from the file's metadata; an operator who trusts such
    # files lifts that limit, and the worker's budget is what is left.
    trusting = dataclasses.replace(bc.DEFAULT_LIMITS, max_compression_ratio=1e9)
    with pytest.raises(bc.DatasetError) as error:
        run_job(jobs.read_and_analyze, path, "bomb.parquet", trusting, budget=BUDGET,
                what="Reading 'bomb.parquet'")  # fmt: skip
    assert error.value.kind == "limit_hit"
    message = str(error.value)
    # The worker's memory budget, or (since the Parquet reader measures dictionaries
    # before expanding them) the reader's own limit sentence, earlier still.
    assert message.startswith(("Reading 'bomb.parquet'", "'bomb.parquet' expands to"))
    # One sentence naming the budget and the setting; this process barely grew.
    assert "512 MB" in message or "max_" in message
    assert psutil.Process().memory_info().rss - before < 200 * 1024**2
    assert not running_jobs()


def running_jobs() -> list[psutil.Process]:
    """Job processes still alive: the forkserver's children (after a moment for the
    kernel to reap a killed one)."""
    time.sleep(0.2)
    servers = [p for p in psutil.Process().children()
               if "forkserver" in " ".join(p.cmdline())]  # fmt: skip
    return [child for server in servers for child in server.children()
            if child.status() != psutil.STATUS_ZOMBIE]  # fmt: skip


def test_a_job_past_its_time_is_stopped_and_its_process_killed():
    budget = Budget(memory_bytes=512 * 1024**2, timeout_s=1, max_jobs=2)
    began = time.monotonic()
    with pytest.raises(bc.DatasetError, match="took longer than the 1 s") as error:
        run_job(sleeper, 60, budget=budget, what="Sleeping")
    assert error.value.kind == "limit_hit"
    assert time.monotonic() - began < 20
    assert not running_jobs()
    assert run_job(sleeper, 0, budget=budget, what="Sleeping") == "woke"


def test_jobs_beyond_max_workers_wait_for_a_slot():
    budget = Budget(memory_bytes=512 * 1024**2, timeout_s=60, max_jobs=1)
    results: list[tuple[float, float]] = []

    def one() -> None:
        results.append(run_job(interval, 0.5, budget=budget, what="Waiting"))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans = sorted(results)
    assert len(spans) == 3
    assert all(spans[k][1] <= spans[k + 1][0] for k in range(2))  # one at a time


def test_progress_is_forwarded_from_the_child():
    seen: list[tuple[int, int]] = []
    assert run_job(reporter, 5, budget=BUDGET, what="Counting", progress=lambda *a: seen.append(a))
    assert seen and seen[-1] == (5, 5)


# --- the cache ---------------------------------------------------------------------


def test_the_cache_is_bounded_by_bytes_not_entries():
    cache = ByteCache(max_bytes=3000)
    for k in range(10):
        cache.put(k, np.zeros(1000, dtype=np.uint8), size=1000)
    assert len(cache) == 3 and cache.total_bytes == 3000
    assert [k in cache for k in range(10)] == [False] * 7 + [True] * 3
    cache.put("big", b"x" * 2500, size=2500)  # the oldest go until it fits
    assert len(cache) == 1 and "big" in cache


def test_pinned_entries_stay_until_their_session_lets_go():
    cache = ByteCache(max_bytes=1000)
    cache.put("a", b"a", size=900, pin="session-1")
    cache.put("b", b"b", size=900, pin="session-2")
    assert "a" in cache and "b" in cache  # both pinned: over the bound, kept
    cache.unpin("session-1")
    assert "a" not in cache and "b" in cache
    cache.get_or_build("c", lambda: b"c", size=lambda _: 200)
    # Pins alone fill the bound: an unpinned newcomer is served, then let go.
    assert "c" not in cache and cache.total_bytes == 900
    cache.unpin("session-2", keep=frozenset({"b"}))
    assert "b" in cache


def test_a_closed_sessions_lease_unpins_its_entries():
    key = ("test", "closed-session")
    state.CACHE.put(key, b"x", size=1, pin="lease-under-test")
    state._release(state.Lease("lease-under-test"))
    entry = state.CACHE._entries[key]
    assert "lease-under-test" not in entry.pins


def test_nbytes_counts_arrow_numpy_and_bytes_once():
    table = pa.table({"x": np.arange(1000, dtype=np.int64)})
    holder = {"t": table, "again": table, "arr": np.zeros(10, dtype=np.float64), "raw": b"abc"}
    assert nbytes(holder) == table.nbytes + 80 + 3
    dataset = bc.read_dataset(b"label\na\nb\n", name="t.csv")
    assert nbytes(dataset) >= dataset.raw.nbytes


# --- the app: output limits before any row is chosen -------------------------------


def test_a_huge_target_is_refused_on_export_before_any_row_is_chosen():
    at = start()
    upload(at, "labels.csv", b"label\n" + b"a\n" * 30 + b"b\n" * 10)
    # The cache is the server's, shared with the other tests run in this process.
    before = set(state.CACHE._entries)
    at.session_state[state.RECIPE] = Recipe(strategy=Strategy(method="resample",
                                                              target="2000000000"))  # fmt: skip
    at.switch_page("pages/3_Export.py").run(timeout=60)
    assert not at.exception, at.exception
    errors = [unescaped(e.value) for e in at.error]
    assert len(errors) == 1, errors
    # Two classes of 2,000,000,000 each, from the counts alone.
    assert "4,000,000,000 rows" in errors[0] and "max_output_rows" in errors[0]
    built = set(state.CACHE._entries) - before
    assert not any("outcome" in str(key) for key in built), built  # nothing built


def test_an_upload_is_held_as_a_handle_without_its_bytes():
    at = start()
    data = b"label\n" + b"a\n" * 30 + b"b\n" * 10
    upload(at, "labels.csv", data)
    current = at.session_state[state.DATASET]
    assert current.size == len(data)
    # The copy is on disk (for another reading of the table), not in the session.
    assert current.spool.path.stat().st_size == len(data)
    assert not any(isinstance(v, bytes) and len(v) == len(data) for v in vars(current).values())
    assert nbytes(current) < len(data)
