#!/usr/bin/env bash
# Continue the shipped prior's run on one GPU for a fixed wall-clock budget, in one command, and leave what it
# trained where it can be fetched: the command a lent GPU machine runs (README "Continue the run").
#
#   OUT=/path/to/results TRAIN_SECONDS=420 bash scripts/gpu_prior.sh
#
# - Packages: wheels in $WHEELS (default .whl/; none: skip) are installed into /tmp/site first (the machine has
#   PyTorch; carry mujoco, mujoco-core, mujoco-warp, warp-lang, hydra-core, omegaconf, antlr4-python3-runtime as
#   wheels for its Python 3.12). A wheel too big for one call's 64 MiB (warp-lang: 149 MB) travels in parts over
#   several calls to the warm machine (`split -b 30M <wheel> <wheel>.part-`, one part per call in an ignored folder
#   named in `carry`, with data/experts/ moved aside for those calls: the tracked tree is 58 MB); parts found in
#   $WHEELS are joined into their wheel here.
# - Training: the run in runs/prior_gpu continues (stage.resume=true), started from data/prior/shipped_run (config and
#   12,240's full checkpoint with its optimiser state, one of the two parts the shipped prior averages) the first
#   time, with the shipped run's recipe
#   (data/prior/shipped_run/cmd.sh: its mix, value normalisation, exploration std exp(-3.8), KL target, body-rotation
#   weight, power penalty, first-frame starts) at the GPU's batch; SIGINT at TRAIN_SECONDS, after which the iteration
#   under way is finished and saved.
# - Into $OUT: prior.pt (the policies alone, `scripts/export_policy.py`), last.pt (the full checkpoint to resume
#   from, about 15 MB), metrics.jsonl, summary.json, train.log; then, while SCORE_SECONDS last, the exported prior
#   scored on fresh held-out sets (`benchmarks/prior_scores.py`, CPU MuJoCo) into scores.log.
#
# RUN_DIR and SCORES_DIR name the run's and the scores' folders (runs/prior_gpu, runs/prior_gpu_scores).
# SIM, NUM_ENVS, MINIBATCH, EPOCHS and CLIPS override the GPU batch (the eighteenth session's: warp, 4096, 16384, 4,
# 500); `WHEELS=none SIM=cpu NUM_ENVS=16 MINIBATCH=256 EPOCHS=1 CLIPS=20 TRAIN_SECONDS=60` runs it on a CPU as a
# check.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${OUT:-}" ]; then echo "error: set OUT to the folder the results go to (OUT=/path bash $0)" >&2; exit 2; fi
TRAIN_SECONDS=${TRAIN_SECONDS:-420}
SCORE_SECONDS=${SCORE_SECONDS:-120}
SIM=${SIM:-warp}
NUM_ENVS=${NUM_ENVS:-4096}
MINIBATCH=${MINIBATCH:-16384}
EPOCHS=${EPOCHS:-4}
CLIPS=${CLIPS:-500}
RUN_DIR=${RUN_DIR:-runs/prior_gpu}
SCORES_DIR=${SCORES_DIR:-runs/prior_gpu_scores}
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  [ -x .venv/bin/python ] && PYTHON=.venv/bin/python
fi
MIX='walk=8,walk_stop_start=2,side_step=2,back_step=2,jog=4,run=4,stand=2,arm_poses=1.5,bend=1.5,squat=1,crouch_reach=1,sit_stand=14,floor_sit_stand=5,kneel=3,lie_to_sit=1.5,prone_get_up=3,supine_get_up=3,pulled_up=2,demo_person=0.5,kick=2,jump=2,dance=4,turn=3,demo_single=6'

mkdir -p "$OUT" "$RUN_DIR"
WHEELS=${WHEELS:-.whl}
if [ "$WHEELS" != none ]; then
  for first in "$WHEELS"/*.whl.part-aa; do
    [ -e "$first" ] && cat "${first%-aa}"-* > "${first%.part-aa}"
  done
  if compgen -G "$WHEELS/*.whl" > /dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
      "$WHEELS"/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  fi
fi
if ! compgen -G "$RUN_DIR/model_*.pt" > /dev/null; then
  cp data/prior/shipped_run/config.yaml data/prior/shipped_run/model_*.pt "$RUN_DIR/"
fi

export PYTHONUNBUFFERED=1
set +e
timeout -s INT "$TRAIN_SECONDS" "$PYTHON" run.py stage=prior run_dir="$RUN_DIR" stage.resume=true sim="$SIM" \
  num_envs="$NUM_ENVS" stage.ppo.minibatch_size="$MINIBATCH" stage.ppo.num_epochs="$EPOCHS" max_iterations=100000 \
  stage.families.clips="$CLIPS" stage.runner.keep_checkpoints=1000 stage.runner.save_interval=20 \
  stage.ppo.desired_kl=0.012 stage.policy.init_log_std=-3.8 stage.ppo.normalize_value=true stage.ppo.max_grad_norm=50 \
  stage.env.first_frame_share=0.25 stage.env.rewards.body_rot.weight=1.0 stage.env.rewards.power.weight=-0.00003 \
  "stage.families.mix='$MIX'" > "$OUT/train.log" 2>&1
status=$?
set -e
echo "training ended with status $status (130 or 124: stopped at TRAIN_SECONDS=$TRAIN_SECONDS, its iteration saved)"
tail -c 3000 "$OUT/train.log" | tr '\r' '\n' | tail -n 4
if [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && [ "$status" -ne 130 ]; then
  echo "training failed (status $status): see $OUT/train.log; nothing exported"
  exit "$status"
fi

cp "$RUN_DIR/last.pt" "$RUN_DIR/metrics.jsonl" "$OUT/"
[ -f "$RUN_DIR/summary.json" ] && cp "$RUN_DIR/summary.json" "$OUT/"
"$PYTHON" scripts/export_policy.py "$RUN_DIR/last.pt" "$OUT/prior.pt" --data data/demo/single.pkl
timeout -s INT "$SCORE_SECONDS" "$PYTHON" benchmarks/prior_scores.py "$OUT/prior.pt" --sets builtin eval40 walkgrid \
  --seed 777 --out "$SCORES_DIR" > "$OUT/scores.log" 2>&1 || echo "scoring stopped at SCORE_SECONDS=$SCORE_SECONDS"
tail -n 20 "$OUT/scores.log"
