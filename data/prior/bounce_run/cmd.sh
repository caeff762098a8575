# prior_p39 (thirty-ninth session, benchmarks/RESULTS.md): the shipped average and kicks_jumps_run (prior_p38) averaged,
# continued on 2,000 fresh clips (families seed 2) with the families of that session: jumping_jack and hop (2.5 each),
# swing kicks, runs to 4.0 m/s (run=5); the recipe of data/prior/clips2000_run/cmd.sh otherwise, on 2 CPU cores.
# The start: the shipped average twice, p38's 13,740-14,010 averaged once and its 14,012 once (its training state kept):
mkdir -p runs/prior_p39
cp data/prior/clips2000_run/config.yaml runs/prior_p39/
.venv/bin/python scripts/export_policy.py runs/prior_p38/model_{13740,13770,13800,13830,13860,13890,13920,13950,13980,14010}.pt \
  runs/prior_p38/average_13740_14010.pt   # (runs/prior_p38: data/prior/kicks_jumps_run/cmd.sh; 14,012 is committed there)
.venv/bin/python scripts/export_policy.py data/prior/smpl_prior_cpu.pt data/prior/smpl_prior_cpu.pt \
  runs/prior_p38/average_13740_14010.pt data/prior/kicks_jumps_run/model_14012.pt runs/prior_p39/model_14012.pt --resumable
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=4,run=5,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=3,jump=3,dance=4,turn=3,demo_single=6,jumping_jack=2.5,hop=2.5'
# To continue the committed checkpoint instead: cp data/prior/bounce_run/model_*.pt data/prior/bounce_run/config.yaml runs/prior_p39/
bash data/prior/continue_recipe.sh runs/prior_p39 2 "$MIX"
