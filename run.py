"""The one entry point: `python run.py stage=<name> [hydra overrides]` (see README.md); under torchrun
(`torchrun --nproc_per_node N run.py stage=prior|expert ...`) one process per rank, see assistmimic.stages."""

import os
import sys

# MuJoCo's rollout threads and torch's OpenMP threads share the cores; idle OpenMP workers must
# sleep rather than spin, or they steal cycles from the physics (measured: ~10% of bench rate).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import hydra
from omegaconf import DictConfig

from assistmimic.stages import run_stage
from assistmimic.stages.config import register_configs
from motion_lib.errors import UserInputError

register_configs()


@hydra.main(config_path="configs", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        run_stage(cfg)
    except UserInputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        if os.environ.get("RANK", "0") == "0":  # under torchrun every rank gets Ctrl-C; rank 0 says it once
            print(f"interrupted; training stages saved their last completed iteration in {cfg.run_dir} "
                  "(continue with the same run_dir and stage.resume=true)", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
