"""Readers of the motion formats users bring, and the PHC/AssistMimic pickle writer.

Each source module has `source_items(input_path, options) -> list[SourceItem]` (see `base.py`).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from motion_lib.errors import UserInputError
from motion_lib.formats.base import ReadOptions, SourceItem

SOURCES = {
    "interx": "motion_lib.formats.interx",
    "hhi": "motion_lib.formats.hhi",
    "phc": "motion_lib.formats.phc",
    "amass": "motion_lib.formats.amass",
    "intergen": "motion_lib.formats.intergen",
    "intermask": "motion_lib.formats.intermask",
    "keypoints": "motion_lib.formats.keypoints",
    "bvh": "motion_lib.formats.bvh_clips",
    "deepmimic": "motion_lib.formats.deepmimic",
}
"""source name (as given to `stage=convert source=...`) -> reader module."""


def source_items(source: str, input_path: str | Path, options: ReadOptions) -> list[SourceItem]:
    """The clips a source offers at `input_path`, each loaded on demand."""
    if source not in SOURCES:
        raise UserInputError(f"unknown source '{source}'; known sources: {', '.join(SOURCES)}")
    return importlib.import_module(SOURCES[source]).source_items(Path(input_path), options)
