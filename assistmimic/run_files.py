"""Writing a stage's results into its run directory without ever leaving a half-written file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from motion_lib.files import atomic_write_bytes

__all__ = ["atomic_write_bytes", "write_json"]


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Atomically write `payload` as indented JSON."""
    atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())
