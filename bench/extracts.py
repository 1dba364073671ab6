"""Benchmark extracts made once and cached in bench/cache/extracts/: canonical CSV and Parquet with the
data_samples generator, FHIR bulk NDJSON and OMOP CDM CSV converted from the canonical CSV extract of
the same size (bench/fhir_from_canonical.py, bench/omop_from_canonical.py), so every format holds the
same patients. A cached extract is reused only if it was completed and neither the generator's source
nor, for a converted one, its converter script has changed since (its planted deviations must be the
ones the current generator plants)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cramp_audit.schemas.spec import TABLES
from cramp_audit.transforms.files import find_table_file
from cramp_audit.transforms.registry import detect_format

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
CACHE = BENCH_DIR / "cache"
EXTRACTS = CACHE / "extracts"
GENERATOR = REPO / "data_samples"
SEED = 42

Log = Callable[[str], None]
COMPLETE_MARKER = ".bench-complete.json"

GENERATED = ("csv", "parquet")                 # written by the generator (--format)
CONVERTERS = {"fhir": "bench.fhir_from_canonical", "omop": "bench.omop_from_canonical"}  # from csv
FORMATS = (*GENERATED, *CONVERTERS)
# The benchmark's format -> the audit's source format (AuditRequest.source_format / --format).
SOURCE_FORMAT = {"csv": "canonical", "parquet": "canonical", "fhir": "fhir", "omop": "omop"}


def generator_digest() -> str:
    """A digest of the generator's source, so that a changed generator regenerates the extracts."""
    digest = hashlib.sha256()
    for path in sorted(GENERATOR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def converter_digest(fmt: str) -> str:
    """A digest of the script that converts the canonical CSV extract to FMT."""
    script = REPO / (CONVERTERS[fmt].replace(".", "/") + ".py")
    return hashlib.sha256(script.read_bytes()).hexdigest()[:16]


def extract_dir(patients: int, fmt: str) -> Path:
    return EXTRACTS / f"{fmt}-{patients}"


def extract_format(folder: Path) -> str:
    """The audit's source format of an extract folder, told by its files (fhir, omop, canonical...)."""
    return detect_format(folder)


def table_files(folder: Path) -> list[Path]:
    """The files of an extract that hold its tables (not the generator's expectation files beside
    them), told by the folder's files: a FHIR bulk export's NDJSON files (every resource), an OMOP
    folder's CSV table files, else the canonical table files."""
    fmt = extract_format(folder)
    if fmt == "fhir":
        return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith((".ndjson", ".ndjson.gz")))
    if fmt == "omop":
        return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith((".csv", ".csv.gz")))
    found = (find_table_file(folder, table.name) for table in TABLES)
    return [path for path in found if path is not None]


def _digests(fmt: str) -> dict[str, str]:
    digests = {"generator_digest": generator_digest()}
    if fmt in CONVERTERS:
        digests["converter_digest"] = converter_digest(fmt)
    return digests


def _is_current(folder: Path, digests: dict[str, str]) -> bool:
    marker = folder / COMPLETE_MARKER
    if not marker.is_file():
        return False
    recorded = json.loads(marker.read_text())
    return all(recorded.get(key) == value for key, value in digests.items())


def ensure_extract(patients: int, fmt: str, log: Log) -> Path:
    """The cached extract of this size and format, made first if missing or stale: generated (CSV,
    Parquet) or converted from the canonical CSV extract of the same size (FHIR, OMOP; that one is
    made first if needed)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown benchmark format {fmt!r} (expected one of {', '.join(FORMATS)})")
    folder = extract_dir(patients, fmt)
    digests = _digests(fmt)
    if _is_current(folder, digests):
        return folder
    canonical = ensure_extract(patients, "csv", log) if fmt in CONVERTERS else None
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if canonical is not None:
        command = [sys.executable, "-m", CONVERTERS[fmt], str(canonical), str(partial)]
        log(f"converting the csv extract of {patients:,} patients to {fmt} (once; cached in "
            f"{folder.relative_to(REPO)})")
    else:
        command = [sys.executable, "-m", "cramp_audit.data_samples.generate", "--patients", str(patients),
                   "--out", str(partial), "--format", fmt, "--seed", str(SEED)]
        log(f"generating {fmt} extract of {patients:,} patients (once; cached in {folder.relative_to(REPO)})")
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    (partial / COMPLETE_MARKER).write_text(json.dumps({
        "command": command[1:], **digests, "seconds": round(time.perf_counter() - started, 1)}))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def warm_page_cache(folder: Path) -> None:
    """Reads every table file once so that the floor and the audit both start from the OS page cache
    (otherwise whichever runs first pays for the disk)."""
    for path in table_files(folder):
        with open(path, "rb") as handle:
            while handle.read(16 << 20):
                pass
