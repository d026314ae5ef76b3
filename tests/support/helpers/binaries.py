"""System programs that tests drive for real (promtool, prometheus, alertmanager, chromium)."""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str, package: str) -> str:
    """The program's path; skip without it, but never in CI, where `.ci/run` installs ``package``."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package {package}: apt-get install {package})"
        if os.environ.get("CI"):
            pytest.fail(f"{message} — CI must run this test, not skip it")
        pytest.skip(message)
    return path
