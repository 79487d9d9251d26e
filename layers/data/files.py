"""Writing layer files: the shipped format, and atomic replacement.

An export never leaves a half-written file: it writes a
temporary file in the same directory, flushes and fsyncs it, then swaps it in
with `os.replace` (atomic within a file system). A failure or an interrupt
before the swap leaves the old file as it was and removes the temporary one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def geojson_text(name: str, features: list[dict[str, Any]]) -> str:
    """A layer file as the shipped ones are: compact UTF-8, one feature per line."""
    collection = {"type": "FeatureCollection", "name": name, "features": features}
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace(',{"type":"Feature"', ',\n{"type":"Feature"') + "\n"


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Make `path` with `write(temporary_path)`, then swap it in: all or nothing.

    The temporary file lives in the same directory (os.replace is atomic only
    within a file system) and is removed if anything fails, an interrupt included.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # The suffix stays the real one: GDAL drivers go by it.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.tmp-", suffix=path.suffix)
    os.close(fd)
    temporary = Path(name)
    try:
        write(temporary)
        with open(temporary, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
