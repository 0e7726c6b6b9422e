"""Under load: many sessions at once never see each other's data, caches are keyed
by content (never by file name), and bombs are refused within seconds in little
memory."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hostile_corpus import class_zip, image
from streamlit.testing.v1 import AppTest

import balance_core as bc
from ui import state

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = 6
ROUNDS = ("pages/1_Overview.py", "pages/2_Balance.py", "app.py", "pages/3_Export.py")

# AppTest swaps process-wide singletons (the mock Runtime, the pages registry) for
# the length of each run, so two runs cannot overlap in one process. The sessions
# below live in their own threads and interleave run by run, which is what a
# server does between reruns; the engine's shared cache is hammered truly in
# parallel by test_the_shared_cache_under_parallel_reads.
RUN_LOCK = threading.Lock()


def session_file(i: int) -> tuple[bytes, dict[str, int]]:
    """A different file for every session, all uploaded under the same name."""
    if i % 3 == 2:  # some sessions upload zips with the same entry names
        size = (4 + i, 3 + i)
        entries = [(f"s{i}/{k}.png", image("PNG", size=size)) for k in range(3)]
        entries = [(name, image("PNG", size=size, compress_level=k)) for k, (name, _) in
                   enumerate(entries)]  # fmt: skip
        return class_zip(*entries), {f"s{i}": 3, "dogs": 5}
    counts = {f"s{i}_a": 2 + i, f"s{i}_b": 3}
    rows = [label for label, n in counts.items() for _ in range(n)]
    return ("label\n" + "\n".join(rows) + "\n").encode(), counts


def run_session(i: int, barrier: threading.Barrier) -> list[dict[str, int]]:
    data, counts = session_file(i)
    name = "upload.zip" if data.startswith(b"PK") else "upload.csv"
    with RUN_LOCK:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.file_uploader[0].set_value((name, data, "application/octet-stream"))
        at.run()
    seen = []
    for page in ROUNDS:
        barrier.wait(timeout=120)  # every session moves on together
        with RUN_LOCK:
            at.switch_page(page).run()
            assert not at.exception, (i, page, at.exception)
            current = at.session_state[state.DATASET]
            assert current.name == name and current.size == len(data)
            assert current.sha256 == hashlib.sha256(data).hexdigest()
            seen.append(current.distribution.counts)
            if page == ROUNDS[0] and name.endswith(".zip"):
                table = next(df.value for df in at.dataframe if "formats" in df.value.columns)
                assert set(table["width"]) == {f"{4 + i}", "4"}, (i, table)
    assert seen == [counts] * len(ROUNDS)
    return seen


def test_sessions_at_once_never_see_each_others_data():
    barrier = threading.Barrier(SESSIONS)
    with ThreadPoolExecutor(SESSIONS) as pool:
        futures = [pool.submit(run_session, i, barrier) for i in range(SESSIONS)]
        results = [future.result(timeout=600) for future in futures]
    assert [r[0] for r in results] == [session_file(i)[1] for i in range(SESSIONS)]


def test_the_shared_cache_under_parallel_reads():
    """Threads parse different files under one name, and the same files again,
    through the app's shared cache at the same time: each gets its own counts."""

    def parallel_file(i: int) -> tuple[bytes, dict[str, int]]:
        counts = {f"p{i}_a": 50 + i, f"p{i}_b": 20}
        rows = [f"{k}.png,{label}" for label, n in counts.items() for k in range(n)]
        return ("path,label\n" + "\n".join(rows) + "\n").encode(), counts

    files = [parallel_file(i) for i in range(8)] * 3

    def read(item: tuple[bytes, dict]) -> bool:
        data, counts = item
        spool, sha256, _ = state._spool(io.BytesIO(data))
        analysis = state._read(spool, sha256, "labels.csv", bc.DEFAULT_LIMITS, trusted=False)
        return analysis.distribution.counts == counts

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(read, files))


def upload(at: AppTest, name: str, data: bytes) -> dict[str, int]:
    at.file_uploader[0].set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at.session_state[state.DATASET].distribution.counts


def test_two_different_files_with_the_same_name_give_different_results():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    first = b"label\nx\nx\ny\n"
    second = b"label\nx\ny\ny\ny\n"
    assert upload(at, "labels.csv", first) == {"x": 2, "y": 1}
    assert upload(at, "labels.csv", second) == {"x": 1, "y": 3}
    assert upload(at, "labels.csv", first) == {"x": 2, "y": 1}
    zip_a, counts_a = session_file(2)
    zip_b, counts_b = session_file(5)
    assert upload(at, "photos.zip", zip_a) == counts_a
    assert upload(at, "photos.zip", zip_b) == counts_b


def test_the_same_bytes_under_another_name_show_only_that_name():
    data = "path,label\n1.png,café\n2.png,naïve\n".encode("cp1252")
    alice = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    alice.run()
    upload(alice, "alice-patients.csv", data)
    bob = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    bob.run()
    upload(bob, "bob.csv", data)
    bob.switch_page("pages/1_Overview.py").run()
    shown = " ".join(t.value for t in bob.text) + " ".join(m.value for m in bob.markdown)
    assert "alice" not in shown
    assert bob.session_state[state.DATASET].dataset.source.name == "bob.csv"


# --------------------------------------------------------------------------- bombs

BOMB_SCRIPT = r"""
import json, resource, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import balance_core as bc
from balance_core.images import thumbnails
from hostile_corpus import (
    BASE, class_zip, deflate_bomb_zip, png_header_bomb, raw_zip, stored, zero_png,
    zeros_deflated,
)

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

# Inputs first, so that only reading them is measured.
bomb = deflate_bomb_zip()                      # one entry declaring 2 GiB of zeros
alone = deflate_bomb_zip(base=False)
pixels = class_zip(("cats/bomb.png", png_header_bomb(100_000, 100_000)))
dense = class_zip(("cats/big.png", zero_png(10_000, 8_000)))  # 80 M real pixels
zeros, crc = zeros_deflated(256 * 1024**2)
twins = raw_zip([stored(n, d) for n, d in BASE] + [
    ("cats/twin1.png", 8, crc, len(zeros), 256 * 1024**2, zeros),
    ("cats/twin2.png", 8, crc, len(zeros), 256 * 1024**2, zeros),
])
raised = bc.Limits(max_entry_uncompressed=1024**3, max_compression_ratio=1e9)
before = peak_mb()

def attempt(label, call):
    started = time.perf_counter()
    try:
        result = call()
    except bc.DatasetError as error:
        result = error.kind
    return label, {"seconds": time.perf_counter() - started, "result": result}

runs = dict([
    attempt("bomb", lambda: [f.kind.value for f in bc.read_dataset(bomb).findings]),
    attempt("bomb_alone", lambda: bc.read_dataset(alone)),
    attempt("bomb_thumbnail", lambda: thumbnails(bomb, ["dogs/bomb.png"])),
    attempt("pixel_bomb", lambda: [f.kind.value for f in bc.read_dataset(pixels).findings]),
    attempt("pixel_thumbnail", lambda: thumbnails(pixels, ["cats/bomb.png"])),
    attempt("dense", lambda: bc.read_dataset(dense).raw.column("width").to_pylist()[0]),
    attempt("dense_thumbnail", lambda: thumbnails(dense, ["cats/big.png"])),
    attempt("twins_raised", lambda: [
        (f.kind.value, f.count) for f in bc.read_zip(twins, limits=raised, n_jobs=1).findings
    ]),
])
report = {"before_mb": before, "peak_mb": peak_mb(), "runs": runs}
print(json.dumps(report, default=lambda value: f"<{type(value).__name__}>"))
"""


# Linux keeps a process's peak RSS (ru_maxrss) across execve, and a child started
# by subprocess shares its parent's memory until it execs: a process started
# straight from pytest would report pytest's own peak. A small launcher process
# in between gives the measured process a fresh count.
LAUNCHER = (
    "import subprocess, sys; "
    "r = subprocess.run([sys.executable, '-c', *sys.argv[1:]], capture_output=True, text=True); "
    "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr); sys.exit(r.returncode)"
)


def test_bombs_are_refused_within_seconds_in_little_memory():
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, BOMB_SCRIPT, str(ROOT / "tests"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    runs = report["runs"]
    assert runs["bomb"]["result"] == ["limit_hit"]  # the 2 GiB entry is skipped, named
    assert runs["bomb_alone"]["result"] == "no_images"
    assert runs["bomb_thumbnail"]["result"] == [None]
    assert runs["pixel_bomb"]["result"] == ["limit_hit"]
    assert runs["pixel_thumbnail"]["result"] == [None]
    assert runs["dense"]["result"] == 10_000  # read from the header, pixels untouched
    assert runs["dense_thumbnail"]["result"] == [None]  # too many pixels to decode
    # Two 256 MiB entries with the same size and CRC are compared by hashing them
    # piece by piece, never holding one in memory.
    assert runs["twins_raised"]["result"] == [["corrupt_image", 2]]
    for label, run in runs.items():
        limit = 15 if label == "twins_raised" else 5
        assert run["seconds"] < limit, (label, run)
    growth = report["peak_mb"] - report["before_mb"]
    # The inputs are built in the same process first (the hostile corpus module now
    # builds some large cases at import), so the bound is on what reading them adds.
    assert growth < 150, report
