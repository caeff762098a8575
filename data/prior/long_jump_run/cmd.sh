#!/bin/bash
# The broad-jump teacher (broad_jump_run/, forty-third session) continued on standing broad jumps for distance (the
# `long_jump` family, 1.1-1.7 m) in the forty-sixth session, on 2 CPU cores: 16,000 -> 17,903 (SIGTERM), resumed with
# the same line -> 18,567 (SIGTERM), 2,567 iterations in 83 + 23 minutes (22 of them beside the full test suite). The
# shipped prior's teacher for broad and long jumps since the forty-seventh session (long_jump_distill_run/; its making:
# benchmarks/RESULTS.md, forty-sixth section). Its checkpoints
# 18,270-18,540 averaged (average_18270_18540.pt) track 29 of 48 held-out long jumps (`longjump24`, seeds 12345 and
# 4242; its start 16, the shipped prior 7) and 29 of 48 broad jumps (`broadjump24`; its start 25, the shipped prior 22);
# the long jumps' training failure was still falling when it stopped (0.58 -> 0.48 over its last 1,400 iterations).
# model_18567.pt holds the run's training state: copy it and config.yaml into a run folder and run step 1's
# continue_recipe.sh line again (MAX_ITERATIONS as needed) to continue. (17,903's checkpoint and the average
# 17,610-17,880: `git show 9fdfd1a:data/prior/long_jump_run/model_17903.pt`.)
set -euo pipefail
# Step 1, the run (from the broad-jump teacher's checkpoint and training state):
mkdir -p runs/prior_p57
cp data/prior/broad_jump_run/config.yaml data/prior/broad_jump_run/model_16000.pt runs/prior_p57/
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=5,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=4,turn=3,demo_single=6,broad_jump=3,long_jump=6'
MAX_ITERATIONS=20000 bash data/prior/continue_recipe.sh runs/prior_p57 12 "$MIX"   # SIGTERM at 17,903; again to 18,567
# Step 2, the average (checkpoints saved 30 apart):
.venv/bin/python scripts/export_policy.py runs/prior_p57/model_{18270..18540..30}.pt \
  data/prior/long_jump_run/average_18270_18540.pt --data data/demo/single.pkl
