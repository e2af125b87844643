"""Atomic file output: every file is written to a temporary sibling and renamed into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def shareable_temp(target: Path) -> tuple[int, Path]:
    """A temporary sibling of ``target`` (fd, path) with the permissions a new file gets under
    the umask: mkstemp creates 0600 files, and outputs are for sharing and serving."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    return fd, Path(name)


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, sync: bool = True) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half
    (``sync=False``: not synced to disk first, for files whose loss costs only time: a cache)."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp_name = shareable_temp(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target
