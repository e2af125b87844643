"""kg.files: CSV tables as the csv module writes them, replacements freed on a thread."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from kg import files
from kg.files import InThread, replace_soon_free, settle, write_csv


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
