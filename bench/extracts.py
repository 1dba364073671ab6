"""Benchmark extracts made once with the data_samples generator and cached in bench/cache/extracts/.
A cached extract is reused only if it was completed and the generator's source has not changed since
(its planted deviations must be the ones the current generator plants)."""

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

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
CACHE = BENCH_DIR / "cache"
EXTRACTS = CACHE / "extracts"
GENERATOR = REPO / "data_samples"
SEED = 42

Log = Callable[[str], None]
COMPLETE_MARKER = ".bench-complete.json"


def generator_digest() -> str:
    """A digest of the generator's source, so that a changed generator regenerates the extracts."""
    digest = hashlib.sha256()
    for path in sorted(GENERATOR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def extract_dir(patients: int, fmt: str) -> Path:
    return EXTRACTS / f"{fmt}-{patients}"


def table_files(folder: Path) -> list[Path]:
    """The canonical table files of an extract (not the generator's expectation files beside them)."""
    found = (find_table_file(folder, table.name) for table in TABLES)
    return [path for path in found if path is not None]


def _is_current(folder: Path, digest: str) -> bool:
    marker = folder / COMPLETE_MARKER
    if not marker.is_file():
        return False
    return json.loads(marker.read_text()).get("generator_digest") == digest


def ensure_extract(patients: int, fmt: str, log: Log) -> Path:
    """The cached extract of this size and format, generated first if missing or stale."""
    folder = extract_dir(patients, fmt)
    digest = generator_digest()
    if _is_current(folder, digest):
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    command = [sys.executable, "-m", "cramp_audit.data_samples.generate", "--patients", str(patients),
               "--out", str(partial), "--format", fmt, "--seed", str(SEED)]
    log(f"generating {fmt} extract of {patients:,} patients (once; cached in {folder.relative_to(REPO)})")
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    (partial / COMPLETE_MARKER).write_text(json.dumps({
        "command": command[1:], "generator_digest": digest, "seconds": round(time.perf_counter() - started, 1)}))
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
