"""Which adapter reads which format, and format detection when --format is omitted."""

from __future__ import annotations

import importlib
from functools import partial
from pathlib import Path

from transforms.base import ExtractError, SourceExtract
from transforms.canonical import BatchedExtract

FORMATS = ("canonical", "synthea", "omop", "mimic", "fhir")


def resolve_format(source: Path, requested: str | None) -> str:
    if not source.exists():
        raise ExtractError(f"{source}: no such folder")
    if not source.is_dir():
        raise ExtractError(f"{source}: not a folder (an extract is a folder with one file per table)")
    if requested is not None:
        if requested not in FORMATS:
            raise ExtractError(f"unknown format '{requested}' (expected one of {', '.join(FORMATS)})")
        return requested
    from transforms.detect import detect_format

    return detect_format(source)


def preflight(source: Path, requested_format: str | None = None) -> str:
    """Refuses an unreadable extract cheaply (format, required files and, for the canonical format,
    required columns from the headers) before a run starts anything; returns the format."""
    fmt = resolve_format(source, requested_format)
    if fmt == "canonical":
        from transforms.canonical import check

        check(source)
    return fmt


def read_batched_extract(source: Path, requested_format: str | None = None,
                         batch_rows: int | None = None) -> BatchedExtract:
    """The extract as an audit reads it, each table a batch of rows at a time: a canonical extract
    file by file, the other formats from their adapter's per-file parts."""
    fmt = resolve_format(source, requested_format)
    if fmt == "canonical":
        from transforms.canonical import read_batched

        return read_batched(source, batch_rows)
    from transforms.common import build_batched_extract

    adapter = importlib.import_module(f"transforms.{fmt}")
    return adapter.read_with(source, partial(build_batched_extract, batch_rows=batch_rows))


def read_extract(source: Path, requested_format: str | None = None) -> SourceExtract:
    """Reads a source folder into canonical string frames with the adapter of its format."""
    fmt = resolve_format(source, requested_format)
    if fmt == "canonical":
        from transforms.canonical import read

        return read(source)
    from transforms.common import build_extract

    adapter = importlib.import_module(f"transforms.{fmt}")
    return adapter.read_with(source, build_extract)
