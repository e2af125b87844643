"""The per-document stages on a Dask cluster (dask.distributed): ``--executor dask``.

Each file is sent as its bytes (workers need not see the corpus folder), processed by
kg.pipeline.process_file_bytes on a worker, and the results come back in corpus order, so the
output is identical to a local build. Without a scheduler address a ``LocalCluster`` of
``workers`` single-threaded processes is started for the build and closed afterwards.

Workers need the same czt-kg version installed (``pip install czt-kg`` on every machine): the
cache key assumes the code that ran is the code of this checkout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kg.errors import InputError, KGError

Log = Callable[[str], None]
BATCH = 64  # files in flight per worker thread at most (bounds the memory of pending results)
CONNECT_TIMEOUT = "20s"


class ClusterError(KGError):
    """The Dask scheduler cannot be reached or a task failed on the cluster."""


@contextmanager
def dask_client(
    scheduler: str | None, *, workers: int = 1, processes: bool = True
) -> Iterator[Any]:
    """A client of the scheduler at ``scheduler``, or of a LocalCluster started for the build."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise InputError("--executor dask needs dask[distributed] installed") from exc
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"{scheduler}: cannot reach the Dask scheduler ({exc})") from exc
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=max(1, workers),
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,  # no web server: the build only needs the scheduler
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def run_on_dask(
    paths: Sequence[str],
    scheduler: str | None,
    *,
    workers: int = 1,
    log: Log = lambda _msg: None,
    processes: bool = True,
) -> Iterator[Any]:
    """kg.pipeline.FileResult of each path, in order, computed on the cluster."""
    from dask.distributed import as_completed

    from kg.model import SkippedFile
    from kg.pipeline import FileResult, process_file_bytes

    with dask_client(scheduler, workers=workers, processes=processes) as client:
        threads = max(1, sum(client.nthreads().values()))
        log(f"  on Dask: {client.scheduler.address}, {threads} worker thread(s)")
        window = threads * BATCH
        pending: dict[Any, int] = {}
        done: dict[int, Any] = {}
        next_to_submit = next_to_yield = 0
        queue = as_completed()

        def submit(index: int) -> None:
            path = paths[index]
            try:
                raw = Path(path).read_bytes()
            except OSError as exc:  # as kg.corpus.read_document words it
                reason = f"cannot read ({exc.strerror or exc})"
                done[index] = FileResult(path, skipped=SkippedFile(path, reason))
                return
            future = client.submit(process_file_bytes, path, raw, key=f"czt-{index}", pure=False)
            pending[future] = index
            queue.add(future)

        while next_to_yield < len(paths):
            while next_to_submit < len(paths) and len(pending) < window:
                submit(next_to_submit)
                next_to_submit += 1
            if next_to_yield in done:
                yield done.pop(next_to_yield)
                next_to_yield += 1
                continue
            future = next(queue)
            index = pending.pop(future)
            try:
                done[index] = future.result()
            except KGError:
                raise
            except Exception as exc:
                raise ClusterError(f"{paths[index]}: failed on the Dask cluster ({exc})") from exc
            while next_to_yield in done:
                yield done.pop(next_to_yield)
                next_to_yield += 1
