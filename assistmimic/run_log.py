"""`run_dir/run.log`: what a run printed and how it ended.

The stages print (they do not use `logging`), so Hydra's job log, which records `logging` only, stayed empty.
While a stage runs, stdout and stderr are copied to run.log line by line (a progress bar redrawn with carriage
returns is written as its last state); a resumed run appends to the same file. A failed run ends its log with
the error (the traceback of an unexpected one) and says so in `summary.json` (`status: failed`, `error`);
a run that failed before writing anything but its config leaves no run directory.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import shutil
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from assistmimic.run_files import write_json
from motion_lib.errors import UserInputError

RUN_LOG = "run.log"
STARTED_FILES = {"config.yaml", RUN_LOG}
"""What a run directory holds once a stage has started and before it writes anything of its own."""


class _Tee(io.TextIOBase):
    """Writes to a console stream and, in whole lines, to the run log."""

    def __init__(self, console: TextIO, log: TextIO):
        self.console, self.log, self._line = console, log, ""

    def write(self, text: str) -> int:
        self.console.write(text)
        *lines, self._line = (self._line + text).split("\n")
        for line in lines:
            self.log.write(line.rsplit("\r", 1)[-1] + "\n")
        if lines:
            self.log.flush()
        return len(text)

    def flush(self) -> None:
        self.console.flush()

    def finish(self) -> None:
        """Write a last line the run left unfinished."""
        if self._line.strip("\r"):
            self.write("\n")

    def isatty(self) -> bool:
        return self.console.isatty()

    def fileno(self) -> int:
        return self.console.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.console, "encoding", "utf-8")


@contextlib.contextmanager
def run_log(run_dir: Path) -> Iterator[TextIO]:
    """Copy stdout and stderr to `run_dir/run.log` (appended, after a line naming the command) while the block runs."""
    with open(run_dir / RUN_LOG, "a", encoding="utf-8") as log:
        command = shlex.join(["run.py", *sys.argv[1:]])
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {command}\n")
        log.flush()
        console = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = tees = _Tee(console[0], log), _Tee(console[1], log)
        try:
            yield log
        finally:
            for tee in tees:
                tee.finish()
            sys.stdout, sys.stderr = console


def record_failure(run_dir: Path, stage: str, err: BaseException, log: TextIO, created: bool) -> None:
    """Say in `run_dir` how the stage ended: the error in run.log and summary.json (status failed, or interrupted
    for Ctrl-C); a directory this run created that holds nothing but its config is removed instead."""
    if created and {path.name for path in run_dir.iterdir()} <= STARTED_FILES:
        shutil.rmtree(run_dir)
        return
    interrupted = isinstance(err, KeyboardInterrupt)
    if interrupted or isinstance(err, UserInputError):
        log.write(f"{'interrupted' if interrupted else f'error: {err}'}\n")
    else:
        log.write("".join(traceback.format_exception(err)))
    log.flush()
    write_json(run_dir / "summary.json", {"stage": stage, "status": "interrupted" if interrupted else "failed",
                                          "error": one_line(err)})


def one_line(err: BaseException) -> str:
    """The error as one line: a UserInputError's sentence, else the type and the first line of the message."""
    lines = str(err).strip().splitlines()
    message = lines[0] if lines else ""
    return message if isinstance(err, UserInputError) else f"{type(err).__name__}: {message}".rstrip(": ")
