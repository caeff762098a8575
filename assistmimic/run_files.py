"""Writing a stage's results into its run directory without ever leaving a half-written file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from motion_lib.files import atomic_write_bytes

__all__ = ["atomic_write_bytes", "remove_temp_files", "write_json"]

TEMP_FILE = re.compile(r"\.[^.].*\.[a-z0-9_]{8}")
"""A temporary file of `atomic_write_bytes`: `.<name>.` and mkstemp's 8 random characters."""


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Atomically write `payload` as indented JSON."""
    atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def remove_temp_files(folder: str | Path) -> None:
    """Delete the temporary files that writes into `folder` left when their process was killed (call it where no
    other process writes into `folder`)."""
    folder = Path(folder)
    if folder.is_dir():
        for path in folder.iterdir():
            if TEMP_FILE.fullmatch(path.name) and path.is_file():
                path.unlink(missing_ok=True)
