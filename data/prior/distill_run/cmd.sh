#!/bin/bash
# The shipped prior since the forty-fourth session (benchmarks/RESULTS.md, forty-fourth section): the prior shipped
# before (teacher.pt here; it is the average of the parts in shipped_run/ and run_endings_run/, as
# tests/test_prior_cli.py checks) and the broad-jump continuation of the forty-third session
# (broad_jump_run/average_15720_15990.pt) distilled by DAgger into a student that starts as the former
# (stage=prior stage.distill.*), in two phases on 2 CPU cores, then its last ten checkpoints averaged.
# (The runs named the teacher by its shipped path then, data/prior/smpl_prior_cpu.pt, the same bytes as teacher.pt; the
# shipped file's metadata names teacher.pt and phase 1's checkpoint instead.)
set -euo pipefail
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=5,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=4,turn=3,demo_single=6'
TEACHERS="stage.distill.teacher=data/prior/distill_run/teacher.pt \
  +stage.distill.family_teachers.broad_jump=data/prior/broad_jump_run/average_15720_15990.pt"
ENV="num_envs=256 stage.env.first_frame_share=0.25 stage.families.clips=2000 stage.env.rewards.power.weight=-0.00003 \
  stage.env.rewards.body_rot.weight=1.0 stage.distill.dagger.minibatch_size=2048 stage.distill.dagger.buffer_size=200000 \
  stage.distill.dagger.save_interval=10 stage.distill.dagger.keep_checkpoints=1000"
# Phase 1 (prior_p53): the student starts as the teacher; 400 iterations, lr 1e-4, 20 regression steps each (23 min).
.venv/bin/python run.py stage=prior run_dir=runs/prior_p53 stage.resume=true $ENV stage.families.seed=8 \
  "stage.families.mix='$MIX,broad_jump=3'" $TEACHERS stage.distill.student_init=data/prior/distill_run/teacher.pt \
  stage.distill.dagger.learning_rate=1e-4 stage.distill.dagger.updates_per_iteration=20 max_iterations=400
.venv/bin/python scripts/export_policy.py runs/prior_p53/model_400.pt runs/cmp/p53_400.pt --data data/demo/single.pkl
# Phase 2 (prior_p54): from phase 1's last student, fresh clips (seed 9) with more broad jumps, lr 3e-4, 40 steps
# each, beta falling over 10 iterations; 300 iterations (23 min).
.venv/bin/python run.py stage=prior run_dir=runs/prior_p54 stage.resume=true $ENV stage.families.seed=9 \
  "stage.families.mix='$MIX,broad_jump=8'" $TEACHERS stage.distill.student_init=runs/cmp/p53_400.pt \
  stage.distill.dagger.learning_rate=3e-4 stage.distill.dagger.updates_per_iteration=40 \
  stage.distill.dagger.beta.decay_iterations=10 max_iterations=300
# The shipped prior: phase 2's checkpoints 210-300 averaged.
.venv/bin/python scripts/export_policy.py $(for i in $(seq 210 10 300); do echo runs/prior_p54/model_$i.pt; done) \
  data/prior/smpl_prior_cpu.pt --data data/demo/single.pkl
