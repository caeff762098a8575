"""The one entry point: `python run.py stage=<name> [hydra overrides]` (see README.md); under torchrun
(`torchrun --nproc_per_node N run.py stage=prior|expert ...`) one process per rank, see assistmimic.stages."""

import os
import signal
import sys

# MuJoCo's rollout threads and torch's OpenMP threads share the cores; idle OpenMP workers must
# sleep rather than spin, or they steal cycles from the physics (measured: ~10% of bench rate).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from assistmimic.config_checks import check_command_line, check_config
from assistmimic.stages import run_stage
from assistmimic.stages.config import register_configs
from motion_lib.errors import UserInputError, exit_with

register_configs()


@hydra.main(config_path="configs", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        check_config(cfg, list(HydraConfig.get().overrides.task))
        run_stage(cfg)
    except UserInputError as err:
        exit_with(err)
    except KeyboardInterrupt:
        if os.environ.get("RANK", "0") == "0":  # under torchrun every rank gets Ctrl-C; rank 0 says it once
            print(f"interrupted; training stages saved their last completed iteration in {cfg.run_dir} "
                  "(continue with the same run_dir and stage.resume=true)", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    # SIGTERM (kill, job schedulers) ends a run as Ctrl-C does: after the iteration under way, with its checkpoint
    # saved and summary.json saying "interrupted".
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        check_command_line(sys.argv[1:])  # what Hydra would reject in many lines, in one sentence
    except UserInputError as err:
        exit_with(err)
    main()
