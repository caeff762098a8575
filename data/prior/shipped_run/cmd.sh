# How model_11100.pt was made (twenty-eighth session, 2 CPU cores, 39 min to 11,569 of which 11,100 was chosen):
# iteration 10,620 (the twenty-sixth session's, kept in git history) continued with rl_games' value normalisation and
# gradient clipping at 50 (as PHC and AssistMimic train; Adam's moments start afresh), the adaptive learning rate's
# KL target at 0.01, a quarter of the starts at each clip's first frame, 256 worlds, minibatches of 2,048, 2 epochs,
# 500 clips of the shipped mix with jogs. Stopped by hand at 11,569 (max_iterations as it was run). Run from the
# repository root.
mkdir -p runs/prior_p7
git show 8fe1c33:data/prior/shipped_run/model_10620.pt > runs/prior_p7/model_10620.pt
git show 8fe1c33:data/prior/shipped_run/config.yaml > runs/prior_p7/config.yaml
.venv/bin/python run.py stage=prior run_dir=runs/prior_p7 stage.resume=true num_envs=256 \
  stage.ppo.minibatch_size=2048 stage.ppo.num_epochs=2 max_iterations=12020 stage.env.first_frame_share=0.25 \
  stage.families.clips=500 stage.runner.save_interval=30 stage.runner.keep_checkpoints=1000 \
  stage.ppo.desired_kl=0.01 stage.ppo.normalize_value=true stage.ppo.max_grad_norm=50 \
  stage.env.rewards.power.weight=-0.0001 "stage.families.mix='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=4,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=3,demo_single=6'"
