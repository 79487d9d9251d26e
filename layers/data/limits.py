"""Limits on what an import may hold, checked before the work, while reading.

An upload is at most IMPORT_MAX_CONTENT_LENGTH bytes, but a small file can hold a
great deal: a zipped Shapefile whose .dbf unpacks to half a gigabyte, a GeoJSON
polygon of a million vertices that every map would then download. Each limit is
checked as early as the file allows, and never by loading everything first:

- an archive (.zip, .kmz, .xlsx): its members are counted and their unpacked sizes
  added up from the zip's directory, before anything is unpacked (readers never
  unpack more than a member's declared size);
- GeoJSON: the positions are counted in the raw bytes (every position is a `[`)
  before the JSON is parsed; CSV: the rows, by their line ends;
- GDAL formats: the features, from the layer's header, before they are read;
- after reading: the vertices of each feature and of the layer, and the time taken.

A refusal is a `LimitError` (a `SourceError` once `read_source` has it) whose message
says, in Chinese first, which limit and what the file held. Settings (server.py
DEFAULTS): IMPORT_MAX_EXPANDED_BYTES, IMPORT_MAX_ARCHIVE_FILES, IMPORT_MAX_FEATURES,
IMPORT_MAX_VERTICES_PER_FEATURE, IMPORT_MAX_VERTICES, IMPORT_TIME_BUDGET_S.
"""

from __future__ import annotations

import mmap
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

ARCHIVE_SUFFIXES = (".zip", ".kmz", ".xlsx")


class LimitError(ValueError):
    """The file holds more than an import may."""


@dataclass(frozen=True)
class ImportLimits:
    max_expanded_bytes: int = 300 * 1024 * 1024  # what an archive unpacks to, in all
    max_archive_files: int = 100
    max_features: int = 200_000
    max_vertices_per_feature: int = 50_000
    max_vertices: int = 2_000_000
    time_budget_s: float = 120.0
    started: float = field(default_factory=time.monotonic, compare=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ImportLimits:
        return cls(
            max_expanded_bytes=int(config["IMPORT_MAX_EXPANDED_BYTES"]),
            max_archive_files=int(config["IMPORT_MAX_ARCHIVE_FILES"]),
            max_features=int(config["IMPORT_MAX_FEATURES"]),
            max_vertices_per_feature=int(config["IMPORT_MAX_VERTICES_PER_FEATURE"]),
            max_vertices=int(config["IMPORT_MAX_VERTICES"]),
            time_budget_s=float(config["IMPORT_TIME_BUDGET_S"]),
        )

    def restarted(self) -> ImportLimits:
        """The same limits, with the time budget counted from now."""
        return ImportLimits(self.max_expanded_bytes, self.max_archive_files, self.max_features,
                            self.max_vertices_per_feature, self.max_vertices,
                            self.time_budget_s)

    # -- before reading --------------------------------------------------------------

    def check_archive(self, path: Path) -> None:
        if path.suffix.lower() not in ARCHIVE_SUFFIXES:
            return
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.infolist()
        except zipfile.BadZipFile:
            return  # the reader says what is wrong with it
        if len(members) > self.max_archive_files:
            raise LimitError(f"{path.name}: 压缩包内有 {len(members):,} 个文件,超过上限 "
                              f"{self.max_archive_files:,} 个 (too many files in the archive)")
        expanded = sum(member.file_size for member in members)
        if expanded > self.max_expanded_bytes:
            raise LimitError(
                f"{path.name}: 解压后共 {_megabytes(expanded)},超过上限 "
                f"{_megabytes(self.max_expanded_bytes)} (the archive unpacks to more than "
                "the import limit)")

    def check_geojson_bytes(self, path: Path) -> None:
        """Every GeoJSON position is an array, so `[` bounds the positions from above."""
        brackets = _count(path, b"[")
        if brackets > self.max_vertices + 4 * self.max_features:
            raise LimitError(
                f"{path.name}: 含约 {brackets:,} 个坐标点,超过上限 {self.max_vertices:,} 个 "
                "(too many vertices; simplify the geometries or split the file)")

    def check_csv_bytes(self, path: Path) -> None:
        """Rows, by their line ends (the header's not counted)."""
        self.check_feature_count(path, _count(path, b"\n") - 1)

    def check_feature_count(self, path: Path, count: int) -> None:
        if count > self.max_features:
            raise LimitError(f"{path.name}: 含 {count:,} 个要素(行),超过上限 "
                              f"{self.max_features:,} 个 (too many features)")

    # -- after reading ---------------------------------------------------------------

    def check_geometries(self, path: Path, labels: Sequence[str],
                         geometries: Sequence[Any]) -> None:
        """The vertices of each feature and of all, and the time taken so far."""
        present = [(label, g) for label, g in zip(labels, geometries, strict=True)
                   if g is not None]
        counts = shapely.get_num_coordinates(np.array([g for _, g in present], dtype=object))
        over = [(label, int(n)) for (label, _), n in zip(present, counts, strict=True)
                if n > self.max_vertices_per_feature]
        if over:
            label, n = max(over, key=lambda item: item[1])
            raise LimitError(
                f"{path.name}: 有 {len(over)} 个要素的顶点超过每个要素的上限 "
                f"{self.max_vertices_per_feature:,} 个,最多的是 {label}({n:,} 个) "
                "(a feature has too many vertices; simplify it)")
        total = int(counts.sum()) if len(counts) else 0
        if total > self.max_vertices:
            raise LimitError(f"{path.name}: 共 {total:,} 个顶点,超过上限 "
                              f"{self.max_vertices:,} 个 (too many vertices in the layer)")
        self.check_time(path)

    def check_time(self, path: Path) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.time_budget_s:
            raise LimitError(f"{path.name}: 处理用时 {elapsed:.0f} 秒,超过上限 "
                              f"{self.time_budget_s:.0f} 秒 (the import took too long)")


def _count(path: Path, needle: bytes, chunk: int = 1 << 22) -> int:
    """Occurrences of a one-byte `needle` in the file, 4 MB at a time (mapped, not read
    into memory whole)."""
    if path.stat().st_size == 0:
        return 0
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return sum(data[i:i + chunk].count(needle) for i in range(0, len(data), chunk))


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f} MB"
