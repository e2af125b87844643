"""kg.files: CSV tables as the csv module writes them, replacements freed on a thread."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from kg import files
from kg.files import (
    ChunkReuse,
    Copier,
    CsvWriter,
    InThread,
    copy_at,
    replace_soon_free,
    settle,
    write_csv,
)


def _csv_module(rows: list) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode("utf-8")


def _written(rows: list) -> bytes:
    handle = io.BytesIO()
    write_csv(handle, rows)
    return handle.getvalue()


@pytest.mark.parametrize(
    "rows",
    [
        [("doc_1", 0, 3, "长沙市", "City", "gazetteer", "长沙市", "City/长沙市")] * 3,
        [("a,b", 1), ("plain", 2)],  # a delimiter inside a field
        [('say "hi"', 1)],  # the quote character
        [("two\nlines", 1), ("carriage\rreturn", 2)],
        [(None, "", 0, 2.5, True)],  # None and empty fields, numbers
        [("only",), ("",)],  # one field (an empty one is quoted)
        [("ragged", 1, 2), ("row",)],
        [],
    ],
)
def test_write_csv_writes_what_the_csv_module_writes(rows: list) -> None:
    assert _written(rows) == _csv_module(rows)


def test_write_csv_across_chunks_with_one_quoted_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "CSV_CHUNK", 3)
    rows = [(f"湘潭{i}", i, "x") for i in range(10)]
    rows[7] = ("with, comma", 7, "x")
    assert _written(rows) == _csv_module(rows)
    assert _written(iter(rows)) == _csv_module(rows)


def test_replace_soon_free_keeps_the_old_file_until_settled(tmp_path: Path) -> None:
    target = tmp_path / "kg.ttl"
    target.write_text("old")
    reader = target.open()  # a reader of the old file still sees it whole
    new = tmp_path / ".kg.ttl.new.tmp"
    new.write_text("new")
    replace_soon_free(new, target)
    settle()
    assert target.read_text() == "new"
    assert reader.read() == "old"
    reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg.ttl"]
    first = tmp_path / "first.csv"  # nothing to replace
    new.write_text("first")
    replace_soon_free(new, first)
    settle()
    assert first.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.csv", "kg.ttl"]


def test_work_on_a_thread_hands_its_error_to_wait() -> None:
    def fail() -> None:
        raise OSError("disk full")

    work = InThread(fail)
    with pytest.raises(OSError, match="disk full"):
        work.wait()
    settle()  # already reported: settles without raising again


def test_write_atomic_syncs_unless_told_not_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from kg.io import write_atomic

    synced: list[int] = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), fsync(fd)))
    for sync, name in ((True, "synced.bin"), (False, "cache.bin")):
        write_atomic(tmp_path / name, b"data", sync=sync)
        assert (tmp_path / name).read_bytes() == b"data"
    assert len(synced) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.bin", "synced.bin"]


@pytest.mark.parametrize("kernel", [True, False])
def test_copy_at_copies_into_a_place_without_moving_either_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: bool
) -> None:
    if not kernel:
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    monkeypatch.setattr(files, "COPY_PIECE", 4096)  # several pieces without the kernel
    data = bytes(range(256)) * 1000
    (tmp_path / "source").write_bytes(data)
    target = tmp_path / "target"
    target.write_bytes(b"head" + b"." * 50_000 + b"tail")
    source_fd = os.open(tmp_path / "source", os.O_RDONLY)
    target_fd = os.open(target, os.O_RDWR)
    try:
        copy_at(source_fd, target_fd, 1000, 4, 50_000)
        assert os.lseek(source_fd, 0, os.SEEK_CUR) == os.lseek(target_fd, 0, os.SEEK_CUR) == 0
        assert target.read_bytes() == b"head" + data[1000:51_000] + b"tail"
        with pytest.raises(OSError, match="cut short"):
            copy_at(source_fd, target_fd, len(data) - 10, 0, 100)
    finally:
        os.close(source_fd)
        os.close(target_fd)


def test_a_copier_copies_in_order_on_its_thread_and_hands_on_its_error(tmp_path: Path) -> None:
    (tmp_path / "source").write_bytes(b"0123456789")
    target = tmp_path / "target"
    source_fd = os.open(tmp_path / "source", os.O_RDONLY)
    target_fd = os.open(target, os.O_RDWR | os.O_CREAT)
    try:
        copier = Copier()
        copier.submit(source_fd, target_fd, 5, 0, 5)
        copier.submit(source_fd, target_fd, 0, 5, 5)
        copier.submit(source_fd, target_fd, 0, 0, 1)  # after the first: overwrites its "5"
        copier.wait()
        assert target.read_bytes() == b"0678901234"
        copier.submit(source_fd, target_fd, 8, 0, 5)  # 2 bytes left: cut short
        copier.submit(source_fd, target_fd, 0, 0, 10)  # not copied after the failure
        with pytest.raises(OSError, match="cut short"):
            copier.wait()
        assert target.read_bytes() == b"8978901234"
        copier.wait()  # nothing pending: returns
    finally:
        os.close(source_fd)
        os.close(target_fd)


def test_csv_chunks_copied_by_a_copier_are_what_the_rows_give(tmp_path: Path) -> None:
    chunks = [(bytes([i]), [(f"长沙{i}", i, "x")] * (i + 1)) for i in range(6)]
    earlier = tmp_path / "earlier.csv"
    with open(earlier, "wb") as handle:
        writer = CsvWriter(handle)
        writer.write([("header", "n", "t")])
        for key, rows in chunks[:4]:
            writer.write_keyed(key, lambda rows=rows: rows)
    recorded = writer.chunks
    again = [chunks[0], chunks[1], chunks[4], chunks[3], chunks[5], chunks[2]]  # new and moved
    made: list[bytes] = []
    later = tmp_path / "later.csv"
    fd = os.open(earlier, os.O_RDONLY)
    copier = Copier()
    jobs: list[tuple] = []
    submit = copier.submit
    copier.submit = lambda *job: (jobs.append(job), submit(*job))  # type: ignore[method-assign]
    try:
        with open(later, "wb") as handle:
            writer = CsvWriter(handle, ChunkReuse(fd, recorded), copier)
            writer.write([("header", "n", "t")])
            for key, rows in again:
                writer.write_keyed(key, lambda key=key, rows=rows: made.append(key) or rows)
            writer.flush()
            copier.wait()  # (before the file is closed)
    finally:
        os.close(fd)
    assert made == [bytes([4]), bytes([5])]  # the others copied
    assert len(jobs) == 3  # chunks 0 and 1 in one copy (one after the other there), 3, 2
    with pytest.raises(TypeError, match="copier"):
        CsvWriter(io.BytesIO(), ChunkReuse(-1, recorded))
    expected = [("header", "n", "t")] + [row for _key, rows in again for row in rows]
    assert later.read_bytes() == _csv_module(expected)
