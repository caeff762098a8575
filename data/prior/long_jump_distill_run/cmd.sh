#!/bin/bash
# The shipped prior since the forty-seventh session (benchmarks/RESULTS.md, forty-seventh section): the prior shipped
# before (distill_run/student.pt: distill_run/cmd.sh's student, the same bytes) and the long-jump teacher
# (long_jump_run/average_18270_18540.pt, for the `broad_jump` and `long_jump` families) distilled by DAgger into a
# student that starts as the former, 300 iterations on 2 CPU cores (21 minutes), its last ten checkpoints averaged.
# The former teaches every other family, so the student keeps what it tracked while it learns the jumps (distilled from
# distill_run/teacher.pt instead, with a gentler first phase as in distill_run/cmd.sh, it lost 4 of 24 kicks at seed
# 12345: runs/prior_p58 and p59 of the forty-seventh section).
# (The run named the prior before by a copy, runs/cmp/shipped46.pt; the config and the shipped file's metadata name
# the committed copy, data/prior/distill_run/student.pt, instead; run.log keeps the line as it ran.)
set -euo pipefail
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=5,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=4,turn=3,demo_single=6'
TEACHERS="stage.distill.teacher=data/prior/distill_run/student.pt \
  +stage.distill.family_teachers.broad_jump=data/prior/long_jump_run/average_18270_18540.pt \
  +stage.distill.family_teachers.long_jump=data/prior/long_jump_run/average_18270_18540.pt"
ENV="num_envs=256 stage.env.first_frame_share=0.25 stage.families.clips=2000 stage.env.rewards.power.weight=-0.00003 \
  stage.env.rewards.body_rot.weight=1.0 stage.distill.dagger.minibatch_size=2048 stage.distill.dagger.buffer_size=200000 \
  stage.distill.dagger.save_interval=10 stage.distill.dagger.keep_checkpoints=1000"
.venv/bin/python run.py stage=prior run_dir=runs/prior_p61 stage.resume=true $ENV stage.families.seed=16 \
  "stage.families.mix='$MIX,broad_jump=5,long_jump=6'" $TEACHERS stage.distill.student_init=data/prior/distill_run/student.pt \
  stage.distill.dagger.learning_rate=3e-4 stage.distill.dagger.updates_per_iteration=40 \
  stage.distill.dagger.beta.decay_iterations=10 max_iterations=300
# The shipped prior: checkpoints 210-300 averaged.
.venv/bin/python scripts/export_policy.py $(for i in $(seq 210 10 300); do echo runs/prior_p61/model_$i.pt; done) \
  data/prior/smpl_prior_cpu.pt --data data/demo/single.pkl
