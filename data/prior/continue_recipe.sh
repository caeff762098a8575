#!/bin/bash
# The recipe the shipped prior's runs were continued with on 2 CPU cores since the 2,000-clip run (clips2000_run,
# kicks_jumps_run, bounce_run: each cmd.sh there calls this):
#   bash data/prior/continue_recipe.sh RUN_DIR FAMILIES_SEED MIX
# resumes RUN_DIR (it must hold a model_<it>.pt or last.pt and config.yaml) on 2,000 fresh clips of the motion-family
# mix MIX (e.g. 'walk=8,run=4,...') made from FAMILIES_SEED, saving every 30 iterations; stop it with SIGTERM (the
# last iteration is saved) and run the same line again to continue. PYTHON overrides the interpreter (.venv/bin/python),
# MAX_ITERATIONS the iteration the run ends at (16000).
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "error: continue_recipe.sh takes RUN_DIR FAMILIES_SEED MIX, got $# argument(s)" >&2
  exit 2
fi
run_dir=$1 families_seed=$2 mix=$3
"${PYTHON:-.venv/bin/python}" run.py stage=prior run_dir="$run_dir" stage.resume=true num_envs=256 stage.ppo.minibatch_size=2048 \
  stage.ppo.num_epochs=2 stage.env.first_frame_share=0.25 stage.families.clips=2000 stage.families.seed="$families_seed" \
  stage.runner.save_interval=30 stage.runner.keep_checkpoints=1000 stage.ppo.normalize_value=true stage.ppo.max_grad_norm=50 \
  stage.env.rewards.power.weight=-0.00003 max_iterations="${MAX_ITERATIONS:-16000}" stage.env.rewards.body_rot.weight=1.0 \
  stage.policy.init_log_std=-3.8 stage.ppo.desired_kl=0.012 "stage.families.mix='$mix'"
