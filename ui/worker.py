"""Heavy work on untrusted input in a child process with a memory and time budget.

Reading an upload, probing its images, decoding thumbnails and writing a balanced
zip run in a fresh child process, one per job, forked from a ``forkserver`` that
has already imported the engine (so a job starts in milliseconds, and never from
the threaded Streamlit server itself). The child's address space is capped with
``RLIMIT_AS`` (its size at start, plus the budget, plus room for the allocators'
reservations), the parent polls its resident memory every 20 ms and kills it past
the budget or the time limit, and at most a few jobs run
at once across all sessions. A file that slips past the readers' limits (a
Parquet dictionary that expands to gigabytes, a metadata table that floods) then
costs its session one :class:`~balance_core.DatasetError` sentence, and the server
and the other sessions go on.

No Streamlit import here: the forkserver imports this module.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.context import ForkServerProcess, set_spawning_popen
from typing import Any

import psutil

from balance_core import DatasetError

__all__ = ["Budget", "run_job", "warm_up"]

# The forkserver imports these once; every job is a fork of it.
_PRELOAD = ["balance_core", "balance_core.readers", "balance_core.images", "ui.worker", "ui.jobs"]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(_PRELOAD)


class _Popen(popen_forkserver.Popen):
    """The forkserver's launch without re-running ``__main__`` in the child.

    Streamlit installs each page script as ``__main__`` while it runs, and
    multiprocessing would run that script again in every child to rebuild it; the
    jobs need none of it. Otherwise the same steps as ``popen_forkserver.Popen``.
    """

    def _launch(self, process_obj):
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):
        return _Popen(process_obj)


_POLL_S = 0.02
_RESERVED_ADDRESS_SPACE = 2 * 1024**3
_PROGRESS_EVERY_S = 0.2


@dataclass(frozen=True, kw_only=True)
class Budget:
    """What one heavy job may use.

    Attributes
    ----------
    memory_bytes : int
        Resident memory of the job's process, and the growth of its address space
        (``RLIMIT_AS``) beyond its size at start.
    timeout_s : float
        Wall time of the job, queueing for a slot not included.
    max_jobs : int
        Jobs running at once in this server; more wait for a free slot.
    """

    memory_bytes: int
    timeout_s: float
    max_jobs: int


def warm_up() -> None:
    """Start the forkserver (it imports the engine once, about 2 s) in the background,
    so the first upload does not wait for it."""
    starter = threading.Thread(target=forkserver.ensure_running, name="seesaw-forkserver")
    starter.daemon = True
    starter.start()


_SLOTS_LOCK = threading.Lock()
_SLOTS: dict[int, threading.BoundedSemaphore] = {}


def _slots(n: int) -> threading.BoundedSemaphore:
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(n, threading.BoundedSemaphore(n))


def run_job(
    fn: Callable[..., Any],
    *args: Any,
    budget: Budget,
    what: str,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """``fn(*args, progress=...)`` in a child process within ``budget``.

    ``fn`` must be importable (a module-level function) and its arguments and
    result picklable; ``progress`` (done, total) is forwarded from the child.
    ``what`` names the work for the error sentence ("Reading 'x.csv'").

    Raises
    ------
    DatasetError
        The job's own DatasetError, or one sentence (kind ``"limit_hit"``) when it
        went over the memory or time budget or its process died.
    """
    slots = _slots(budget.max_jobs)
    with slots:
        return _run(fn, args, budget, what, progress)


def _run(fn, args, budget: Budget, what: str, progress) -> Any:
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _Process(target=_child, args=(sender, fn, args, budget.memory_bytes), daemon=True)
    process.start()
    sender.close()
    started = time.monotonic()
    watched = psutil.Process(process.pid)
    try:
        while True:
            if receiver.poll(_POLL_S):
                try:
                    kind, payload = receiver.recv()
                except (EOFError, OSError):
                    process.join(5)
                    raise _died(what, budget, process.exitcode) from None
                if kind == "progress":
                    if progress is not None:
                        progress(*payload)
                    continue
                process.join(5)
                if kind == "ok":
                    return payload
                if kind == "memory":
                    raise _over_memory(what, budget)
                if kind == "error":
                    message, error_kind = payload
                    raise DatasetError(message, kind=error_kind)
                raise _died(what, budget, None)
            if time.monotonic() - started > budget.timeout_s:
                raise _over_time(what, budget)
            try:
                rss = watched.memory_info().rss
            except psutil.Error:
                rss = 0
            if rss > budget.memory_bytes:
                raise _over_memory(what, budget)
    finally:
        if process.is_alive():
            process.kill()
            process.join(5)
        receiver.close()


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB"


def _over_memory(what: str, budget: Budget) -> DatasetError:
    return DatasetError(
        f"{what} needed more than the {_mb(budget.memory_bytes)} of memory one job may "
        "use (worker_memory_mb in .streamlit/seesaw.toml), so it was stopped; the file "
        "may expand far beyond its size (a decompression bomb), or it is too big for "
        "this server: use the command line for it.",
        kind="limit_hit",
    )


def _over_time(what: str, budget: Budget) -> DatasetError:
    return DatasetError(
        f"{what} took longer than the {budget.timeout_s:,.0f} s one job may take "
        "(worker_timeout_s in .streamlit/seesaw.toml), so it was stopped; use the "
        "command line for a file this big.",
        kind="limit_hit",
    )


def _died(what: str, budget: Budget, exitcode: int | None) -> DatasetError:
    if exitcode is not None and exitcode < 0:
        # Killed by a signal: the kernel's out-of-memory killer, or the address-space
        # cap hit outside Python's allocator.
        return _over_memory(what, budget)
    return DatasetError(
        f"{what} stopped unexpectedly (exit code {exitcode}); the details are in the "
        "server log. Try another file.",
        kind="limit_hit",
    )


def _child(sender, fn, args, memory_bytes: int) -> None:
    import resource

    # Pages of every session come first: a job only gets the CPU they leave.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)
    try:
        # A backstop for allocations faster than the parent's poll: the address space
        # mapped at start, the budget, and room for what the allocators reserve
        # without using (polars' jemalloc alone reserves ~0.5 GB for a tiny job).
        with open("/proc/self/statm") as statm:
            size = os.sysconf("SC_PAGE_SIZE") * int(statm.read().split()[0])
        cap = size + memory_bytes + _RESERVED_ADDRESS_SPACE
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (OSError, ValueError, AttributeError):  # no /proc or no RLIMIT_AS: RSS poll only
        pass
    try:
        import pyarrow as pa

        # The system allocator gives freed memory back at once and fails cleanly
        # at the cap.
        pa.set_memory_pool(pa.system_memory_pool())
    except Exception:
        pass
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= _PROGRESS_EVERY_S or done >= total:
            last = now
            sender.send(("progress", (done, total)))

    try:
        result = fn(*args, progress=progress)
    except MemoryError:
        message = ("memory", None)
    except DatasetError as error:
        message = ("error", (str(error), error.kind))
    except BaseException as error:  # any failure is one sentence upstairs
        import traceback

        traceback.print_exc()
        message = ("crash", repr(error)[:500])
    else:
        try:
            sender.send(("ok", result))
            return
        except MemoryError:
            message = ("memory", None)
    try:
        sender.send(message)
    except Exception:
        os._exit(3)
