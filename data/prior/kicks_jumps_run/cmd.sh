# prior_p38 (thirty-eighth session, benchmarks/RESULTS.md): the shipped average (data/prior/smpl_prior_cpu.pt) continued
# on 2,000 fresh clips (families seed 1) with the side kicks and turning jumps of that session (kick=3, jump=3), the
# recipe of data/prior/clips2000_run/cmd.sh otherwise, on 2 CPU cores. Not shipped. Made from the shipped run's files:
mkdir -p runs/prior_p38
cp data/prior/clips2000_run/config.yaml runs/prior_p38/
.venv/bin/python scripts/export_policy.py data/prior/shipped_run/average_12600_12870.pt \
  data/prior/shipped_run/average_12600_12870.pt data/prior/shipped_run/model_12240.pt runs/prior_p38/model_12240.pt --resumable
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=4,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=3,jump=3,dance=4,turn=3,demo_single=6'
# (the session ran it in pieces: 117 iterations with kick=2,jump=2 and the kicks and jumps before that session, then to
# 13,285 with the first turning jumps, then on; stopped by hand with SIGTERM.) To continue the committed checkpoint
# instead: cp data/prior/kicks_jumps_run/model_*.pt data/prior/kicks_jumps_run/config.yaml runs/prior_p38/
bash data/prior/continue_recipe.sh runs/prior_p38 1 "$MIX"
