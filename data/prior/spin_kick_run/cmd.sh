#!/bin/bash
# A spinning-kick teacher in the making (forty-seventh session, benchmarks/RESULTS.md): the long-jump teacher's
# checkpoint 18,567 (long_jump_run/) continued on the distillation's mix with `broad_jump=3,long_jump=4,spin_kick=8`
# (families seed 15), continue_recipe.sh, 18,567 -> 20,085 (SIGTERM) in 64 minutes on 2 CPU cores, half of them beside
# scoring, the README main command and tests. Not yet a teacher: 0 of 24 held-out spinning kicks (`spinkick24`) at
# 20,085 as at its start; they fall 1.3-2.1 s in, during the first turn; the spin kicks' training failure stayed at
# 0.74-0.76 over its last 900 iterations. model_20085.pt holds the run's training state: copy it and config.yaml into
# a run folder and run the line below again (MAX_ITERATIONS as needed) to continue.
set -euo pipefail
mkdir -p runs/prior_p60
cp data/prior/long_jump_run/config.yaml data/prior/long_jump_run/model_18567.pt runs/prior_p60/
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=5,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=4,turn=3,demo_single=6,broad_jump=3,long_jump=4,spin_kick=8'
MAX_ITERATIONS=22000 bash data/prior/continue_recipe.sh runs/prior_p60 15 "$MIX"   # SIGTERM at 20,085
