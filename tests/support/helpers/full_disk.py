"""A real full disk for tests: a tiny tmpfs mounted on a folder (needs root / CAP_SYS_ADMIN; else skip),
filled to the last byte on request."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tiny_disk(path: Path, size: str = "256k") -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to simulate a full disk: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path) -> int:
    """Write a filler file until the file system under ``path`` has no byte left; returns bytes written."""
    written = 0
    chunk = b"\0" * 4096
    with open(path / "filler", "ab", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk if len(chunk) > 1 else b"\0")
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 2]
    os.sync()
    return written
