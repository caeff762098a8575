# How the shipped prior (data/prior/smpl_prior_cpu.pt, forty-first session, 2 CPU cores; run from the repository
# root) was made: the thirty-seventh session's shipped prior, an average of two continuations of 11,730 (the
# twenty-ninth session's shipped checkpoint, in git history; its recipe: `git show b91ac92:data/prior/shipped_run/cmd.sh`)
# weighted 1:2 (benchmarks/RESULTS.md, thirty-seventh section), averaged 1:1 with its own continuation on runs that stop
# and turn back (forty-first section):
#  1. prior_p34 (thirty-sixth session): 11,730 continued 510 iterations (29 min; stopped by hand at 12,277) with value
#     normalisation and gradient clipping at 50, a quarter of the starts at each clip's first frame, 256 worlds,
#     minibatches of 2,048, 2 epochs, 500 clips of the mix below (the walk `turn` family added, dance=4), the
#     body-rotation weight 1.0 (PHC: 0.3), the fixed exploration std exp(-3.8) with the KL target 0.012, the power
#     penalty -0.00003: its iteration 12,240 (model_12240.pt here, the full checkpoint, the shipped prior before).
#  2. prior_p35 (thirty-sixth and thirty-seventh sessions): the same on 2,000 clips (stage.families.clips=2000),
#     11,730 -> 13,343 (about 100 min in four pieces, stopped by hand; data/prior/clips2000_run/), its checkpoints
#     12,600, 12,630, ..., 12,870 averaged (average_12600_12870.pt here, exported policies).
#  3. The shipped prior of the thirty-seventh to fortieth sessions: 12,240 once and that average twice, averaged again.
#  4. The shipped prior: that one continued on runs that stop and turn back (data/prior/run_endings_run/cmd.sh), its
#     checkpoints 12,600-12,870 averaged, averaged 1:1 with it.
mkdir -p runs/prior_p34
git show b91ac92:data/prior/shipped_run/model_11730.pt > runs/prior_p34/model_11730.pt
git show b91ac92:data/prior/shipped_run/config.yaml > runs/prior_p34/config.yaml
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=4,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=4,turn=3,demo_single=6'
# (stopped by hand: SIGTERM, e.g. pkill -TERM -f "run_dir=runs/prior_p34 ")
.venv/bin/python run.py stage=prior run_dir=runs/prior_p34 stage.resume=true num_envs=256 stage.ppo.minibatch_size=2048 \
  stage.ppo.num_epochs=2 stage.env.first_frame_share=0.25 stage.families.clips=500 stage.runner.save_interval=30 \
  stage.runner.keep_checkpoints=1000 stage.ppo.normalize_value=true stage.ppo.max_grad_norm=50 \
  stage.env.rewards.power.weight=-0.00003 max_iterations=16000 stage.env.rewards.body_rot.weight=1.0 \
  stage.policy.init_log_std=-3.8 stage.ppo.desired_kl=0.012 "stage.families.mix='$MIX'"
# 2.: data/prior/clips2000_run/cmd.sh (from 11,730 as above, in runs/prior_p35), then
.venv/bin/python scripts/export_policy.py $(for i in $(seq 12600 30 12870); do echo runs/prior_p35/model_$i.pt; done) \
  runs/prior_p35/average_12600_12870.pt                                      # = data/prior/shipped_run/average_12600_12870.pt
# 3.:
.venv/bin/python scripts/export_policy.py data/prior/shipped_run/model_12240.pt data/prior/shipped_run/average_12600_12870.pt \
  data/prior/shipped_run/average_12600_12870.pt runs/shipped37.pt --data data/demo/single.pkl
# 4.: data/prior/run_endings_run/cmd.sh (it starts from this folder's files), then
.venv/bin/python scripts/export_policy.py runs/shipped37.pt data/prior/run_endings_run/average_12600_12870.pt \
  data/prior/smpl_prior_cpu.pt --data data/demo/single.pkl
