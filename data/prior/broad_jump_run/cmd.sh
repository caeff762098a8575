#!/bin/bash
# prior_p51 (forty-third session, benchmarks/RESULTS.md): the shipped prior continued on 2,000 fresh clips (families
# seed 8) of the shipped recipe's mix with standing broad jumps added (broad_jump=3), on 2 CPU cores: 13,178 -> 15,086
# (stopped with SIGTERM), resumed with the same line -> 16,000 (max_iterations), 2,822 iterations, 117 min. Not shipped:
# its checkpoints 15,720-15,990 averaged (average_15720_15990.pt) track 43 of 72 held-out broad jumps (the shipped
# prior 12) and lose runs that stop and turn back (8 and 6 of 12 against 11 and 9 at seed 12345), dances (17 against
# 21 of 24) and jittery clips (34 against 36 of 40); level on eval40 and jump24, ahead on kicks (24 against 21). model_16000.pt holds the run's training state (resume: copy it and config.yaml into a run folder).
# Step 1, the run (made from the shipped prior and the run before's training state):
mkdir -p runs/prior_p51
cp data/prior/clips2000_run/config.yaml runs/prior_p51/
.venv/bin/python scripts/export_policy.py data/prior/smpl_prior_cpu.pt data/prior/smpl_prior_cpu.pt \
  data/prior/smpl_prior_cpu.pt data/prior/run_endings_run/model_13178.pt runs/prior_p51/model_13178.pt --resumable
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=5,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=4,turn=3,demo_single=6,broad_jump=3'
bash data/prior/continue_recipe.sh runs/prior_p51 8 "$MIX"
# Step 2, the average (checkpoints saved 30 apart from the resume at 15,086):
.venv/bin/python scripts/export_policy.py runs/prior_p51/model_{15720..15990..30}.pt \
  data/prior/broad_jump_run/average_15720_15990.pt --data data/demo/single.pkl
