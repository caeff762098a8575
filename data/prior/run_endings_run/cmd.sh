# prior_p47 (forty-first session, benchmarks/RESULTS.md): the shipped average (data/prior/smpl_prior_cpu.pt) continued
# on 2,000 fresh clips (families seed 5) in which 35 % of runs and jogs stop and 25 % turn back before their end
# (locomotion.RUN_ENDINGS), runs drawn at 2.5-3.5 m/s, jog=5, the recipe of data/prior/clips2000_run/cmd.sh otherwise,
# on 2 CPU cores: 12,240 -> 13,178 (938 iterations, 50 min; stopped with SIGTERM). Its checkpoints 12,600-12,870
# averaged (average_12600_12870.pt) and that average averaged 1:1 with the shipped prior before (step 2) are the shipped
# prior since then: 32 of 36 runs that stop and 27 of 36 that turn back (21 and 17 before), level or ahead on the core
# sets, 4 of 72 hops behind (RESULTS, forty-first section).
# Step 1, the run (made from the shipped run's files):
mkdir -p runs/prior_p47
cp data/prior/clips2000_run/config.yaml runs/prior_p47/
.venv/bin/python scripts/export_policy.py data/prior/shipped_run/average_12600_12870.pt \
  data/prior/shipped_run/average_12600_12870.pt data/prior/shipped_run/model_12240.pt runs/prior_p47/model_12240.pt --resumable
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=5,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=4,turn=3,demo_single=6'
# To continue the committed checkpoint instead: cp data/prior/run_endings_run/model_13178.pt data/prior/run_endings_run/config.yaml runs/prior_p47/
bash data/prior/continue_recipe.sh runs/prior_p47 5 "$MIX"
# Step 2, the average, and the shipped prior (with runs/shipped37.pt, the prior before, made by
# data/prior/shipped_run/cmd.sh step 3):
.venv/bin/python scripts/export_policy.py runs/prior_p47/model_{12600,12630,12660,12690,12720,12750,12780,12810,12840,12870}.pt \
  data/prior/run_endings_run/average_12600_12870.pt --data data/demo/single.pkl
.venv/bin/python scripts/export_policy.py runs/shipped37.pt data/prior/run_endings_run/average_12600_12870.pt \
  data/prior/smpl_prior_cpu.pt --data data/demo/single.pkl
