# The 2,000-clip run (thirty-sixth and thirty-seventh sessions, benchmarks/RESULTS.md): the recipe of
# data/prior/shipped_run/cmd.sh's step 1 on 2,000 clips instead of 500, from 11,730 (`git show b91ac92:data/prior/shipped_run/`),
# 11,730 -> 12,575 in 56 min (this checkpoint), then resumed -> 13,343 in 42 min (stopped by hand) on 2 CPU cores. Its
# checkpoints 12,600-12,870 averaged are one ingredient of the shipped prior (data/prior/shipped_run/cmd.sh, step 2);
# averages of later windows (12,900-13,170) scored lower, its pose error and power kept rising. Resume it (its 2,000
# clips are made again from their seed, 2-5 minutes; their failure rates are restored from the checkpoint) with:
mkdir -p runs/prior_p35
cp data/prior/clips2000_run/model_12575.pt data/prior/clips2000_run/config.yaml runs/prior_p35/
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=4,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=4,turn=3,demo_single=6'
bash data/prior/continue_recipe.sh runs/prior_p35 0 "$MIX"
