"""What a run records about where its results came from: the source files' checksum and the code
version (package, git commit, whether the checkout differs from it)."""

from __future__ import annotations

import hashlib
import subprocess
from importlib import metadata
from pathlib import Path

from cramp_audit.db import SQL_DIR
from cramp_audit.transforms.base import Extract


def source_checksum(extract: Extract) -> str:
    """sha256 over every file the extract reads (in name order): each file's name and digest."""
    digest = hashlib.sha256()
    for name in sorted(extract.files):
        path = Path(name)
        digest.update(path.name.encode())
        if path.is_file():
            with open(path, "rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


# What a run executes from the checkout; a change elsewhere (README, tests) does not alter a run.
CODE_PATHS = ("cramp_audit", "flows", "schemas", "sql", "transforms")


def code_version(checkout: Path = SQL_DIR.parent) -> str:
    """The package version, plus the commit of its git checkout when it runs from one, marked -dirty
    when the code a run executes differs from that commit (a changed file, or a new one, such as a
    local rule file the engine would pick up), or -unknown-state when git cannot say."""
    version = metadata.version("cramp-audit")
    found, commit = _git(checkout, "rev-parse", "--short", "HEAD")
    if not found or not commit:
        return version
    answered, changes = _git(checkout, "status", "--porcelain", "--", *CODE_PATHS)
    suffix = "" if answered and not changes else "-dirty" if answered else "-unknown-state"
    return f"{version}+{commit}{suffix}"


def _git(checkout: Path, *args: str) -> tuple[bool, str]:
    """(whether the git command succeeded, its output) in `checkout`."""
    try:
        done = subprocess.run(["git", *args], cwd=checkout, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False, ""
    return done.returncode == 0, done.stdout.strip()
