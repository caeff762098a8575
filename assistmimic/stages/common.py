"""Small helpers the stages share: required settings, what the command line chose and where clips come from."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig

from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import read_clips

REPO_ROOT = Path(__file__).resolve().parents[2]


def require_setting(value, key: str, example: str):
    """`value` if set, else the one-sentence error telling the user what to pass."""
    if value is None or value == "":
        raise UserInputError(f"this stage needs {key}=..., e.g. {example}")
    return value


def command_line_chooses(group: str) -> bool:
    """Whether run.py's command line chose or changed config group `group` (`impairment=bed`,
    `impairment.recipient.mass_scale=0.5`); False outside run.py (e.g. a stage called from Python)."""
    if not HydraConfig.initialized():
        return False
    keys = (override.lstrip("+~").split("=", 1)[0] for override in HydraConfig.get().overrides.task)
    return any(key == group or key.startswith(f"{group}.") for key in keys)


def trained_clips_file(metadata: dict) -> str | None:
    """The clips file a checkpoint names in its metadata (`data`) when it is a file here, else None: gone, or not a
    file at all (a prior trained on generated motion families records their description, which may be longer than a
    file name can be)."""
    data = metadata.get("data")
    try:
        return data if data and Path(data).is_file() else None
    except OSError:  # e.g. a name too long for the file system
        return None


def clips_path(data: str | None, default: str) -> Path:
    """The clips file: `data=` as given (relative to the working directory), else the stage's default
    (relative to the repository, so the built-in demo clips are found from anywhere)."""
    if data:
        return Path(data)
    return REPO_ROOT / default


def load_clips(data: str | None, default: str, robot: str, persons: int) -> tuple[Path, list[Clip]]:
    """Read the clips (at 30 fps) and check they hold `persons` person(s) each."""
    path = clips_path(data, default)
    clips = read_clips(path, robot)
    wrong = [c.name for c in clips if len(c.persons) != persons]
    if wrong:
        raise UserInputError(f"{path}: this stage needs {persons}-person clips, but {', '.join(wrong[:5])} "
                             f"{'has' if len(wrong) == 1 else 'have'} {3 - persons} person(s)")
    return path, clips
