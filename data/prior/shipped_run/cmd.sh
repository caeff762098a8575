# How model_10620.pt was made (twenty-sixth session, 2 CPU cores, 71 min to 10,836 of which 10,620 was chosen):
# iteration 9,013 (the eighteenth session's GPU run, kept in git history) continued with the prior's power penalty
# at 0.0001 (now configs/stage/prior.yaml's default), 256 worlds, minibatches of 2,048, 2 epochs, 500 clips of the
# GPU run's mix with the two floor get-ups. Run from the repository root.
mkdir -p runs/prior_p1
git show 3874c78:data/prior/gpu_run/model_9013.pt > runs/prior_p1/model_9013.pt
cp data/prior/gpu_run/config.yaml runs/prior_p1/
.venv/bin/python run.py stage=prior run_dir=runs/prior_p1 stage.resume=true num_envs=256 \
  stage.ppo.minibatch_size=2048 stage.ppo.num_epochs=2 max_iterations=10620 stage.families.clips=500 \
  stage.runner.save_interval=30 stage.runner.keep_checkpoints=1000 stage.ppo.desired_kl=0.03 \
  stage.env.rewards.power.weight=-0.0001 "stage.families.mix='walk=8,walk_stop_start=2,side_step=2,back_step=2,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=3,demo_single=6'"
