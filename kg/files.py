"""Writing large outputs: CSV tables formatted fast and copied chunk by chunk from the last
build, and disk work (syncing, freeing replaced files) taken off the build's main path.

Kept apart from kg.io, which the per-document stages import: a change here does not
invalidate their cache (kg.pipeline.pipeline_version hashes the modules they import)."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import marshal
import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import islice
from pathlib import Path
from typing import BinaryIO

CSV_CHUNK = 4096  # rows formatted at once


def write_csv(handle: BinaryIO, rows: Iterable[Sequence[object]]) -> None:
    """Write ``rows`` in UTF-8 exactly as ``csv.writer(text_handle, lineterminator="\n")``
    would (see :class:`CsvWriter`)."""
    CsvWriter(handle).write(rows)


class CsvWriter:
    """Rows written in UTF-8 exactly as ``csv.writer(text_handle, lineterminator="\n")`` would,
    faster for tables of short fields that need no quoting: the csv module costs ~3 µs a row
    (3.2 s for the 1.1 million mentions of 10,000 documents), one format string per row less
    than half. A table where a chunk of rows needs quoting (sentences with commas) is left to
    the csv module from there on.

    Rows can also be written in keyed chunks (:meth:`write_keyed`): a chunk an earlier file
    holds (``reuse``) is copied from it instead of formatted again, and :attr:`chunks` records
    where this file holds each chunk, for the next build."""

    def __init__(
        self, handle: BinaryIO, reuse: ChunkReuse | None = None, copier: Copier | None = None
    ):
        """``reuse`` comes with a ``copier``, which copies the reused chunks on its thread into
        the places left for them; :meth:`flush` after the last chunk, then :meth:`Copier.wait`
        before the file is closed and ``reuse`` too."""
        if reuse is not None and copier is None:
            raise TypeError("CsvWriter: reuse needs a copier")
        self.handle, self.reuse, self.copier = handle, reuse, copier
        self._pending: tuple[int, int] | None = None  # (offset in the earlier file, size)
        self.joined = True
        self.size = 0
        self.chunks: dict[bytes, tuple[int, int]] = {}

    def write(self, rows: Iterable[Sequence[object]]) -> None:
        rows = iter(rows)
        while chunk := list(islice(rows, CSV_CHUNK)):
            self._write(self._text(chunk).encode("utf-8"))

    def write_keyed(self, key: bytes, make: Callable[[], list[Sequence[object]]]) -> None:
        """The rows ``make()`` gives, or their text copied from the earlier file if it holds a
        chunk of that ``key`` (equal keys must mean equal rows: the caller's promise)."""
        place = self.reuse.chunks.get(key) if self.reuse is not None else None
        if place is None:
            rows = make()
            text = b"".join(
                self._text(rows[i : i + CSV_CHUNK]).encode("utf-8")
                for i in range(0, len(rows), CSV_CHUNK)
            )
            self.chunks[key] = (self.size, len(text))
            self._write(text)
            return
        at, size = place
        pending = self._pending
        if pending is not None and sum(pending) == at:
            self._pending = (pending[0], pending[1] + size)  # one copy for both
        else:
            self.flush()
            self._pending = place
        self.chunks[key] = (self.size, size)
        self.size += size

    def flush(self) -> None:
        """Hand the chunks to copy that were gathered last to the copier (runs of chunks that
        lie one after the other in the earlier file are copied as one: the copier's thread
        waits for the interpreter's lock after each copy, ~5 ms while the build runs)."""
        if self._pending is not None:
            source_at, size = self._pending
            self._pending = None
            self.copier.copy_into(self.handle, self.reuse.fd, source_at, size)  # type: ignore[union-attr]

    def _write(self, data: bytes) -> None:
        self.flush()
        self.handle.write(data)
        self.size += len(data)

    def _text(self, rows: list[Sequence[object]]) -> str:
        text = _joined_csv(rows) if self.joined and rows else None
        if text is None:
            self.joined = False
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            text = buffer.getvalue()
        return text


def chunk_key(*parts: object) -> bytes:
    """A digest of strings, numbers, None and tuples and lists of them: the SHA-1 (which the
    processor computes at twice the speed of BLAKE2) of their marshal bytes, format 2 (no
    back-references, so equal parts give equal bytes)."""
    return hashlib.sha1(marshal.dumps(parts, 2), usedforsecurity=False).digest()[:16]


@dataclass
class ChunkReuse:
    """The chunks of a table an earlier build wrote (:attr:`CsvWriter.chunks`), copied from
    that file while it is still the one they were recorded for (size, modification time,
    inode); otherwise :meth:`open` gives None."""

    fd: int
    chunks: dict[bytes, tuple[int, int]]

    @classmethod
    def open(cls, path: Path, identity: Sequence[int], chunks: dict) -> ChunkReuse | None:
        fd = open_unchanged(path, identity)
        return None if fd is None else cls(fd, chunks)

    def close(self) -> None:
        os.close(self.fd)


def file_identity(stat: os.stat_result) -> tuple[int, int, int]:
    """What tells a file from its rewritten versions (an index of its contents is only used
    while it matches): size, modification time, inode."""
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def open_unchanged(path: Path, identity: Sequence[int]) -> int | None:
    """A descriptor of ``path`` (read-only) if it is still the non-empty file ``identity``
    (:func:`file_identity`) was taken of, else None."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    stat = os.fstat(fd)
    if file_identity(stat) != tuple(identity) or not stat.st_size:
        os.close(fd)
        return None
    return fd


@lru_cache(maxsize=1 << 17)  # (the same documents and subjects are asked about again)
def content_cut(name: str, one_in: int) -> bool:
    """Whether a chunk of a sorted sequence starts at ``name``, for about one name in
    ``one_in``, decided by the name alone (content-defined, like rsync's chunks): adding or
    removing an item changes the chunk it falls into, not the boundaries of the others."""
    return hashlib.blake2b(name.encode("utf-8"), digest_size=1).digest()[0] < 256 // one_in


@lru_cache(maxsize=16)
def _csv_format(width: int) -> Callable[..., str]:
    return (",".join(["{}"] * width) + "\n").format


def _joined_csv(rows: list[Sequence[object]]) -> str | None:
    """The rows' fields joined by commas, or None if that is not what the csv module writes:
    a field is None (written empty), a row has one field (an empty one is quoted), or a field
    holds a delimiter or quote (the counts show it)."""
    width = len(rows[0])
    if width < 2 or not all(len(row) == width and None not in row for row in rows):
        return None
    line = _csv_format(width)
    text = "".join([line(*row) for row in rows])
    if (
        text.count(",") == (width - 1) * len(rows)
        and text.count("\n") == len(rows)
        and '"' not in text
        and "\r" not in text
    ):
        return text
    return None


# ------------------------------------------------------------------------- work off the main path
# Disk work the build need not wait for at once: syncing files while they are still being
# written, and freeing the blocks of replaced outputs (1.2 GB of graph at 10,000 documents:
# ~2 s of fsync and ~1 s of freeing). Plain threads (not a pool, which a forked child would
# inherit without its threads); the system calls release the GIL.

_started: list[InThread] = []


class InThread:
    """``work()`` on a thread of its own; :meth:`wait` joins it and raises what it raised."""

    def __init__(self, work: Callable[[], object]):
        self._error: BaseException | None = None

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # handed to wait()
                self._error = exc

        self._thread = threading.Thread(target=run, name="czt-kg-io")
        self._thread.start()
        _started.append(self)

    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error


# Errors of copy_file_range that mean "not between these files": read and write instead.
_NO_KERNEL_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EBADF, errno.EOPNOTSUPP}
COPY_PIECE = 1 << 20  # bytes read and written at a time where the kernel cannot copy


def copy_at(source: int, target: int, source_at: int, target_at: int, size: int) -> None:
    """Copy ``size`` bytes of file ``source`` from ``source_at`` into file ``target`` at
    ``target_at`` (neither file's position moves): by the kernel where it can, else read and
    written. A ``target`` open for appending takes writes at its end only (copy_file_range
    refuses it; pwrite appends there whatever the offset)."""
    kernel = hasattr(os, "copy_file_range")
    while size:
        if kernel:
            try:
                copied = os.copy_file_range(source, target, size, source_at, target_at)
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY:
                    raise
                kernel = False
                continue
        else:
            piece = os.pread(source, min(size, COPY_PIECE), source_at)
            copied = os.pwrite(target, piece, target_at) if piece else 0
        if not copied:
            raise OSError(f"file {target}: the file to copy from is cut short")
        source_at += copied
        target_at += copied
        size -= copied


class Copier:
    """Copies ranges between files on a thread, in the order given, while the build goes on
    (the system calls release the GIL): a one-document rebuild of 10,000 documents copies ~1 GB
    of graph and tables from the previous build, 1.7–2.9 s of the main thread's time inline."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[int, int, int, int, int] | None] = queue.SimpleQueue()
        self._thread: InThread | None = None

    def submit(self, source: int, target: int, source_at: int, target_at: int, size: int) -> None:
        if self._thread is None:
            self._thread = InThread(self._work)
        self._jobs.put((source, target, source_at, target_at, size))

    def copy_into(self, handle: BinaryIO, source: int, source_at: int, size: int) -> None:
        """Leave ``size`` bytes at the position of ``handle`` (a buffered writer) for a copy of
        file ``source`` from ``source_at``, made on the thread, and move the handle past them."""
        at = handle.tell()
        handle.seek(at + size)  # (writes what the buffer holds first)
        self.submit(source, handle.fileno(), source_at, at, size)

    def _work(self) -> None:
        failed: BaseException | None = None
        while (job := self._jobs.get()) is not None:
            if failed is None:  # (after a failure, the rest is drained, not copied)
                try:
                    copy_at(*job)
                except BaseException as exc:
                    failed = exc
        if failed is not None:
            raise failed

    def wait(self) -> None:
        """Wait for every copy submitted so far (raises what a copy raised)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.wait()


def settle() -> None:
    """Wait for every piece of work started with :class:`InThread` (a build's last step)."""
    while _started:
        _started.pop().wait()


def replace_soon_free(temp: Path, target: Path) -> None:
    """``os.replace(temp, target)``, the replaced file's blocks freed on a thread: the old file
    keeps a temporary name until then (removed by :func:`settle` at the latest)."""
    old = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.old.tmp")
    try:
        os.link(target, old)
    except FileNotFoundError:
        old = None  # nothing to replace
    except OSError:  # no hard links here: replace and free at once
        old = None
    os.replace(temp, target)
    if old is not None:
        InThread(partial(os.unlink, old))
