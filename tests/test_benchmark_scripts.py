"""The training benchmarks end bad input (a size, a Hydra override, an unknown ablation row) with one sentence and
exit status 2; the ablation table aggregates finished cells without training them again."""

import csv
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.test_run_cli import assert_one_clear_error


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], capture_output=True, text=True,
                          timeout=300, check=False)


def test_a_bad_size_or_override_is_one_clear_sentence():
    result = run_benchmark("end_to_end.py", "--persons", "2", "--worlds", "0")
    assert_one_clear_error(result, "error: the number of worlds must be a positive integer, got 0")
    assert result.returncode == 2
    result = run_benchmark("stacked_experts.py", "--worlds", "3")
    assert_one_clear_error(result, "does not split into minibatches of 512")
    assert_one_clear_error(run_benchmark("stacked_experts.py", "sim.nthread=abc"), "error:", "sim.nthread=abc")


def fake_cell(out, row, clip, seed, success, training_rule, failed_at_s, lift, wall_s=None, iterations=None, prior=None):
    """A finished ablation cell: the summary.json (with `iterations` and the `prior_sha256` when given) and
    eval/eval_clips.csv of a 91-frame clip (3 s at 30 fps); no record of its overrides (one left by an earlier attempt
    is removed)."""
    run_dir = out / row / clip / f"seed{seed}"
    (run_dir / "eval").mkdir(parents=True, exist_ok=True)
    (run_dir / "ablation_overrides").unlink(missing_ok=True)
    trained = {"success_rate": success, "success_rate_training_rule": training_rule, "mpjpe_mm": 100.0,
               "recipient_lift_m": lift, "support_force_z_n": None, "whole_body_support_force_z_n": -20.0,
               "checkpoint": "/elsewhere/last.pt"}
    summary = {"status": "finished", "evaluation": {"trained": trained},
               **({} if iterations is None else {"iterations": iterations}),
               **({} if prior is None else {"prior_sha256": prior})}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "eval" / "eval_clips.csv").write_text(
        f"clip,frames,success,failed_at_s\n{clip},91,{bool(success)},{'' if failed_at_s is None else failed_at_s}\n")
    if wall_s is not None:
        (run_dir / "ablation_wall_s").write_text(f"{wall_s}\n")


def test_ablations_train_unfinished_cells_only_and_aggregate_seeds(tmp_path):
    full = [(1.0, None, 0.5, 60), (0.0, 1.0, 0.2, 120), (0.0, 2.0, 0.2, 30)]  # success, failed at (s), lift, wall (s)
    for seed, (success, failed_at, lift, wall) in enumerate(full):
        fake_cell(tmp_path, "full", "help_up_from_floor", seed, success, success, failed_at, lift, wall)
    fake_cell(tmp_path, "no_grip", "help_up_from_floor", 0, 0.0, 1.0, 0.5, 0.1)
    command = ("ablations.py", "--rows", "full", "no_grip", "--clips", "help_up_from_floor", "--out", str(tmp_path))
    # no_grip's seed 1 was interrupted (its summary says so): it is trained again, and its run fails on the bad override
    interrupted = tmp_path / "no_grip" / "help_up_from_floor" / "seed1"
    interrupted.mkdir(parents=True)
    (interrupted / "summary.json").write_text(json.dumps({"status": "interrupted"}))
    result = run_benchmark(*command, "--set", "stage.no_such_key=1")
    assert_one_clear_error(result, "no_grip/help_up_from_floor/seed1 failed (exit status 2)", "no_such_key")
    assert result.stdout.count("reused") == 4 and not (tmp_path / "ablations.csv").exists()
    for seed in (1, 2):
        fake_cell(tmp_path, "no_grip", "help_up_from_floor", seed, 0.0, 1.0, 0.5, 0.1)
    result = run_benchmark(*command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("reused") == 6 and "training in" not in result.stdout
    # success 1, 0, 0: mean 0.33, sample std 0.58; time to failure 3 (the clip's length), 1, 2 s: 2 ± 1
    assert "| full | help_up_from_floor | 0.33 ± 0.58 | 0.33 ± 0.58 | 2.00 ± 1.00 | 0.30 ± 0.17 | 100.00 ± 0.00 | – | -20.00 ± 0.00 | 3 | – | unknown |" in result.stdout
    no_grip = "| no_grip | help_up_from_floor | 1.00 ± 0.00 | 0.00 ± 0.00 | 0.50 ± 0.00 | 0.10 ± 0.00 | 100.00 ± 0.00 | – | -20.00 ± 0.00 | 3 | – | unknown |"
    assert no_grip in result.stdout
    cores = os.cpu_count() or 1
    assert f"| full | 3 | {210 * cores / 60:.1f} |" in result.stdout  # 60 + 120 + 30 s of wall clock
    assert "| no_grip | 0 | 0.0 |" in result.stdout  # its wall clocks were not kept
    assert (tmp_path / "ablations.md").read_text() in result.stdout
    with open(tmp_path / "ablations.csv", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [(r["row"], r["seed"], r["time_to_failure_s"]) for r in lines] == [
        ("full", "0", "3.0"), ("full", "1", "1.0"), ("full", "2", "2.0"), *(("no_grip", s, "0.5") for s in "012")]


def test_ablations_do_not_reuse_a_cell_trained_with_other_overrides(tmp_path):
    fake_cell(tmp_path, "full", "help_up_from_floor", 0, 1.0, 1.0, None, 0.5, 60, iterations=600)
    cell = tmp_path / "full" / "help_up_from_floor" / "seed0"
    (cell / "ablation_overrides").write_text(
        "stage.clips=[help_up_from_floor]\nseed=0\nmax_iterations=600\nstage.video=false\nstage.env.root_assist.decay_start=100\n")
    command = ("ablations.py", "--rows", "full", "--clips", "help_up_from_floor", "--seeds", "0", "--out", str(tmp_path))
    result = run_benchmark(*command, "--iterations", "600")
    assert_one_clear_error(result, "was trained with stage.env.root_assist.decay_start=100 where this sweep asks for no more")
    result = run_benchmark(*command, "--iterations", "200", "--set", "stage.env.root_assist.decay_start=100")
    assert_one_clear_error(result, "trained with max_iterations=600 where this sweep asks for max_iterations=200")
    result = run_benchmark(*command, "--iterations", "600", "--set", "stage.env.root_assist.decay_start=100")
    assert result.returncode == 0, result.stderr
    assert "reused" in result.stdout and "training in" not in result.stdout
    with open(tmp_path / "ablations.csv", newline="") as handle:
        assert "decay_start=100" in next(csv.DictReader(handle))["overrides"]


def test_ablations_do_not_reuse_a_cell_started_from_another_prior(tmp_path):
    from assistmimic.stages.expert import prior_digest

    shipped = prior_digest("data/prior/smpl_prior_cpu.pt")
    assert shipped is not None and len(shipped) == 12 and prior_digest(str(tmp_path / "missing.pt")) is None
    command = ("ablations.py", "--rows", "full", "no_prior_init", "--clips", "help_up_from_floor", "--seeds", "0",
               "--iterations", "200", "--out", str(tmp_path))
    fake_cell(tmp_path, "full", "help_up_from_floor", 0, 1.0, 1.0, None, 0.5, 60, iterations=200, prior="0123456789ab")
    fake_cell(tmp_path, "no_prior_init", "help_up_from_floor", 0, 0.0, 0.0, 1.0, 0.0, 60, iterations=200)
    (tmp_path / "no_prior_init" / "help_up_from_floor" / "seed0" / "summary.json").write_text(json.dumps(
        {**json.loads((tmp_path / "no_prior_init" / "help_up_from_floor" / "seed0" / "summary.json").read_text()),
         "prior_sha256": None}))
    assert_one_clear_error(run_benchmark(*command), "started from a prior with SHA-256 0123456789ab, not the present "
                                                    "data/prior/smpl_prior_cpu.pt")
    fake_cell(tmp_path, "full", "help_up_from_floor", 0, 1.0, 1.0, None, 0.5, 60, iterations=200, prior=shipped)
    result = run_benchmark(*command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("reused") == 2 and f"| 1 | 200 | {shipped} |" in result.stdout
    assert "| 1 | 200 | none |" in result.stdout  # the row without a prior


def test_ablations_do_not_reuse_a_cell_trained_on_another_version_of_its_clip(tmp_path):
    """A cell records `clips_digest` of the clip it trained on; after the demo clips are regenerated differently the
    sweep stops instead of tabling it beside cells of the new clip."""
    from motion_lib.formats.phc import read_clips
    from motion_lib.motion_library import clips_digest

    (clip,) = [c for c in read_clips(REPO / "data" / "demo" / "assist.pkl") if c.name == "support_rise_from_chair"]
    command = ("ablations.py", "--rows", "full", "--clips", clip.name, "--seeds", "0", "--iterations", "200",
               "--out", str(tmp_path))
    cell = tmp_path / "full" / clip.name / "seed0"
    for digest, reused in ((clips_digest([clip]), True), ("0" * 40, False)):
        fake_cell(tmp_path, "full", clip.name, 0, 1.0, 1.0, None, 0.3, 60, iterations=200)
        (cell / "summary.json").write_text(json.dumps({**json.loads((cell / "summary.json").read_text()),
                                                       "clips_digest": digest}))
        result = run_benchmark(*command)
        if reused:
            assert result.returncode == 0 and "reused" in result.stdout, result.stderr
        else:
            assert_one_clear_error(result, f"the finished cell {cell} was trained on another version of its clip")


def test_ablations_unknown_row_is_one_clear_sentence(tmp_path):
    result = run_benchmark("ablations.py", "--rows", "full", "no_gravity", "--out", str(tmp_path))
    assert_one_clear_error(result, "error: unknown ablation row 'no_gravity'; the rows are full, no_prior_init")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "full").exists()


def test_ablations_finished_only_tables_the_finished_cells_and_trains_nothing(tmp_path):
    fake_cell(tmp_path, "full", "help_up_from_floor", 0, 1.0, 1.0, None, 0.5, 60, iterations=600)
    fake_cell(tmp_path, "full", "help_up_from_floor", 1, 0.0, 0.0, 1.5, 0.2, 60, iterations=200)
    command = ("ablations.py", "--rows", "full", "no_grip", "--clips", "help_up_from_floor", "--seeds", "0", "1", "2",
               "--out", str(tmp_path), "--finished-only")
    result = run_benchmark(*command)
    assert result.returncode == 0, result.stderr
    assert "training in" not in result.stdout and result.stdout.count("not finished, left out of the table") == 4
    assert "| full | help_up_from_floor | 0.50 ± 0.71 | 0.50 ± 0.71 | 2.25 ± 1.06 | 0.35 ± 0.21 | 100.00 ± 0.00 | – | -20.00 ± 0.00 | 2 | 200/600 | unknown |" in result.stdout
    assert "| no_grip | help_up_from_floor | – | – | – | – | – | – | – | 0 | – | – |" in result.stdout and not (tmp_path / "no_grip").exists()
    empty = run_benchmark("ablations.py", "--rows", "no_grip", "--out", str(tmp_path), "--finished-only")
    assert_one_clear_error(empty, "error: no finished cell in")


def test_ablations_score_a_cell_again_where_its_evaluation_lacks_a_measure(tmp_path):
    """A cell scored before the evaluation had the whole-body support force is scored again by `stage=eval` of its
    own final checkpoint (found in the cell, wherever the summary said it was); the new score is kept and reused. Without
    the checkpoint the measure stays empty; a checkpoint that does not score is one clear error."""
    fake_cell(tmp_path, "full", "help_up_from_floor", 0, 1.0, 1.0, None, 0.5, 60)
    cell = tmp_path / "full" / "help_up_from_floor" / "seed0"
    summary = json.loads((cell / "summary.json").read_text())
    del summary["evaluation"]["trained"]["whole_body_support_force_z_n"]
    (cell / "summary.json").write_text(json.dumps(summary))
    command = ("ablations.py", "--rows", "full", "--clips", "help_up_from_floor", "--seeds", "0", "--out", str(tmp_path),
               "--finished-only")
    result = run_benchmark(*command)  # without its checkpoint the cell keeps its own evaluation, the new measure empty
    assert result.returncode == 0, result.stderr
    assert "its checkpoint is not here; that measure stays empty" in result.stdout
    assert "| full | help_up_from_floor | 1.00 | 1.00 | 3.00 | 0.50 | 100.00 | – | – | 1 | – | unknown |" in result.stdout
    (cell / "last.pt").write_bytes(b"not a checkpoint")
    result = run_benchmark(*command)
    assert_one_clear_error(result, f"error: scoring {cell} again failed (exit status 2)")
    rescored = cell / "eval_rescored"
    rescored.mkdir(exist_ok=True)
    (rescored / "summary.json").write_text(json.dumps({**summary["evaluation"]["trained"], "mpjpe_mm": 80.0,
                                                       "whole_body_support_force_z_n": 35.0}))
    (rescored / "eval_clips.csv").write_text("clip,frames,success,failed_at_s\nhelp_up_from_floor,91,True,\n")
    result = run_benchmark(*command)
    assert result.returncode == 0, result.stderr
    assert "| full | help_up_from_floor | 1.00 | 1.00 | 3.00 | 0.50 | 80.00 | – | 35.00 | 1 | – | unknown |" in result.stdout


def test_prior_scores_bad_input_is_one_clear_sentence(tmp_path):
    result = run_benchmark("prior_scores.py", str(REPO / "data/prior/smpl_prior_cpu.pt"), "--sets", "eval40", "moon",
                           "--out", str(tmp_path))
    assert_one_clear_error(result, "error: unknown clip set 'moon'; the sets are builtin, eval40, all, noisy40")
    result = run_benchmark("prior_scores.py", str(tmp_path / "missing.pt"), "--out", str(tmp_path))
    assert_one_clear_error(result, "error: no checkpoint file", "missing.pt")
    result = run_benchmark("prior_scores.py", str(REPO / "data/prior/smpl_prior_cpu.pt"), "--clips",
                           str(tmp_path / "train500.pkl"), "--out", str(tmp_path))
    assert_one_clear_error(result, "error: no clips file", "train500.pkl")


def test_prior_scores_tables_tracked_clips_per_family(tmp_path):
    """Evaluations already in `<out>/<checkpoint>/<set>/` from the same files are reused: two made-up ones give the
    table."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from learning_curve import SCORED, scored_files
    from prior_scores import checkpoint_names, family_of, score

    assert family_of("walk_0003_mirror_x1.10") == "walk" and family_of("sit_stand_0040") == "sit_stand"
    assert family_of("run_0007_x0.90_s1.12") == "run"  # resized as from another subject
    assert family_of("stand") == "stand"
    assert checkpoint_names([tmp_path / "a" / "last.pt", tmp_path / "b" / "last.pt"]) == ["a_last", "b_last"]
    rows = [("walk_0000", True), ("walk_0001_mirror", False), ("jump_0002", True)]
    for name, tracked in (("old", [True, False, False]), ("new", [True, True, True])):
        (tmp_path / f"{name}.pt").write_bytes(b"")
        folder = tmp_path / "out" / name / "builtin"
        folder.mkdir(parents=True)
        per_clip = [{"clip": clip, "success": ok} for (clip, _), ok in zip(rows, tracked)]
        summary = {"success_rate": sum(tracked) / 3, "success_rate_training_rule": sum(tracked) / 3, "clips": 3,
                   "mpjpe_tracked_mm": 50.0, "per_clip": per_clip}
        (folder / "summary.json").write_text(json.dumps(summary))
        (folder / SCORED).write_text(json.dumps(scored_files(tmp_path / f"{name}.pt", REPO / "data/demo/single.pkl")))
    result = run_benchmark("prior_scores.py", str(tmp_path / "old.pt"), str(tmp_path / "new.pt"), "--sets", "builtin",
                           "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "| old | 0.333 | 0.333 | 50 mm | 1/3 | 1/2 | 0/1 |" in result.stdout
    assert "| new | 1.000 | 1.000 | 50 mm | 3/3 | 2/2 | 1/1 |" in result.stdout
    # Clips whose person needs a helper are left out of the "without a helper" count only.
    overall, per_family = score(json.loads((tmp_path / "out" / "old" / "builtin" / "summary.json").read_text()),
                                frozenset({"walk_0001_mirror"}))
    assert overall["alone"] == (1, 2) and per_family == {"walk": (1, 2), "jump": (0, 1)}
    expected = [("old", "walk", "1"), ("old", "jump", "0"), ("new", "walk", "2"), ("new", "jump", "1")]
    with open(tmp_path / "out" / "scores.csv", newline="") as handle:
        assert sorted((r["checkpoint"], r["family"], r["tracked"]) for r in csv.DictReader(handle)) == sorted(expected)
    # A clips file given with --clips is a set named by its stem, scored alone unless --sets names more.
    folder = tmp_path / "out" / "new" / "single"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text((tmp_path / "out" / "new" / "builtin" / "summary.json").read_text())
    (folder / SCORED).write_text(json.dumps(scored_files(tmp_path / "new.pt", REPO / "data/demo/single.pkl")))
    result = run_benchmark("prior_scores.py", str(tmp_path / "new.pt"), "--clips", str(REPO / "data/demo/single.pkl"),
                           "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "**single**" in result.stdout and "**builtin**" not in result.stdout
    assert "| new | 1.000 | 1.000 | 50 mm | 3/3 | 2/2 | 1/1 |" in result.stdout
    with open(tmp_path / "out" / "scores.csv", newline="") as handle:
        assert {r["set"] for r in csv.DictReader(handle)} == {"builtin", "single"}
    # A later call scoring one of them replaces its lines and keeps the other's.
    result = run_benchmark("prior_scores.py", str(tmp_path / "new.pt"), "--sets", "builtin", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "out" / "scores.csv", newline="") as handle:
        assert sorted((r["checkpoint"], r["family"], r["tracked"]) for r in csv.DictReader(handle)
                      if r["set"] == "builtin") == sorted(expected)


def test_prior_scores_clips_sets_never_share_a_generated_sets_name():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from pathlib import Path

    from prior_scores import clips_set_names

    paths = [Path("runs/train500.pkl"), Path("runs/ps/sets_s777/dance24.pkl"), Path("a/all.pkl"), Path("a/x.pkl"),
             Path("b/x.pkl"), Path("c/all4.pkl"), Path("d/eval40_s99.pkl")]
    assert clips_set_names(paths) == ["train500", "sets_s777_dance24", "a_all", "a_x", "b_x", "all4", "d_eval40_s99"]


def test_a_scored_folder_names_the_files_it_was_scored_from(tmp_path):
    """A cached evaluation is reused only for the same checkpoint and clips, unchanged: another run's checkpoint of
    the same name, or the same file saved again, differs."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from learning_curve import scored_files

    clips = tmp_path / "clips.pkl"
    clips.write_bytes(b"clips")
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        (tmp_path / run / "model_9013.pt").write_bytes(b"weights")
    first = scored_files(tmp_path / "a" / "model_9013.pt", clips)
    assert first == scored_files(tmp_path / "a" / "model_9013.pt", clips)
    assert first != scored_files(tmp_path / "b" / "model_9013.pt", clips)
    (tmp_path / "a" / "model_9013.pt").write_bytes(b"weights, trained on")
    assert first != scored_files(tmp_path / "a" / "model_9013.pt", clips)


def test_prior_scores_chair_set_varies_the_built_in_chair_clip_and_keeps_its_chair():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import numpy as np
    from prior_scores import chair_variants

    from motion_lib.formats.phc import read_clips

    builtin = read_clips(REPO / "data/demo/single.pkl")
    (sit,) = [clip for clip in builtin if clip.name == "sit_down_stand_up"]
    variants = {clip.name: clip for clip in chair_variants(builtin)}
    assert list(variants) == ["chair_mirror", "chair_x0.85", "chair_x0.93", "chair_x1.07", "chair_x1.15",
                              "chair_noise0", "chair_noise1", "chair_noise2"]
    assert all(list(clip.furniture) == list(sit.furniture) for clip in variants.values())
    # Slower clips are longer, faster ones shorter; noise and mirroring keep the length but move the joints.
    frames = [variants[f"chair_x{s}"].num_frames for s in ("0.85", "0.93", "1.07", "1.15")]
    assert frames == sorted(frames, reverse=True) and frames[0] > sit.num_frames > frames[-1]
    for name in ("chair_mirror", "chair_noise0"):
        assert variants[name].num_frames == sit.num_frames
        assert not np.allclose(variants[name].persons[0].joint_rot, sit.persons[0].joint_rot)
    assert not np.allclose(variants["chair_noise0"].persons[0].joint_rot, variants["chair_noise1"].persons[0].joint_rot)
    # Another seed (`--seed`, fresh sets to report a choice on): other noise, the same mirror and time warps.
    reseeded = {clip.name: clip for clip in chair_variants(builtin, seed=777)}
    assert not np.allclose(reseeded["chair_noise0"].persons[0].joint_rot, variants["chair_noise0"].persons[0].joint_rot)
    np.testing.assert_array_equal(reseeded["chair_x0.85"].persons[0].joint_rot, variants["chair_x0.85"].persons[0].joint_rot)


def test_prior_scores_walk_grid_starts_standing_and_cruises_at_each_speed():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import numpy as np
    from prior_scores import WALK_GRID_SPEEDS, WALK_GRID_TURNS, walk_grid

    clips = {clip.name: clip for clip in walk_grid()}
    assert list(clips)[:3] == ["walk_v0.9_t0", "walk_v0.9_t30", "walk_v1.1_t0"] and len(clips) == 10
    for speed in WALK_GRID_SPEEDS:
        for turn in WALK_GRID_TURNS:
            clip = clips[f"walk_v{speed:.1f}_t{turn}"]
            root = clip.persons[0].root_pos[:, :2]
            velocity = np.linalg.norm(np.diff(root, axis=0), axis=1) * clip.fps
            assert velocity[:5].max() < 0.2  # standing at first (the pelvis sways a little)
            assert abs(np.median(velocity[-60:]) - speed) < 0.1 * speed  # cruising in the last 2 s


def test_prior_scores_cruise_set_starts_each_gait_under_way_at_its_speed():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import numpy as np
    from prior_scores import CRUISE_RUN_SPEEDS, CRUISE_SECONDS, CRUISE_WALK_SPEEDS, cruise_grid

    clips = {clip.name: clip for clip in cruise_grid()}
    expected = [f"cruise_walk_v{v:.1f}" for v in CRUISE_WALK_SPEEDS] + [f"cruise_run_v{v:.1f}" for v in CRUISE_RUN_SPEEDS]
    assert list(clips) == expected
    for name, clip in clips.items():
        speed = float(name.rsplit("_v", 1)[1])
        root = clip.persons[0].root_pos[:, :2]
        velocity = np.linalg.norm(np.diff(root, axis=0), axis=1) * clip.fps
        assert abs(clip.duration - CRUISE_SECONDS) < 1e-6
        assert abs(np.median(velocity[:15]) - speed) < 0.15 * speed  # already at speed in the first half second
        assert abs(np.mean(velocity) - speed) < 0.05 * speed  # the pelvis speeds and slows within each step
        assert clip.persons[0].root_rot.shape[0] == clip.persons[0].joint_rot.shape[0] == clip.num_frames


def test_prior_scores_mid_cuts_start_just_before_each_clips_fastest_moment():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import numpy as np
    from prior_scores import MIDCUT_LEAD, MIDCUT_SECONDS, mid_cuts

    from motion_lib.families.dynamic import broad_jump
    from motion_lib.families.standing import stand
    from motion_lib.formats.common import body_positions
    from motion_lib.skeleton import get_skeleton

    skeleton = get_skeleton("smpl")
    jumps = [broad_jump(np.random.default_rng(k)) for k in range(3)]
    cut = mid_cuts(jumps + [stand(np.random.default_rng(0))], seed=5)
    assert [c.name for c in cut] == [c.name for c in jumps] + [cut[-1].name]
    for whole, part in zip(jumps, cut):
        assert abs(part.duration - MIDCUT_SECONDS) < 1e-6 and part.source == whole.source
        first = int(np.argmin(np.abs(whole.persons[0].root_pos - part.persons[0].root_pos[0]).sum(axis=1)))
        np.testing.assert_allclose(whole.persons[0].joint_rot[first:first + part.num_frames], part.persons[0].joint_rot)
        speed = np.linalg.norm(np.diff(body_positions(whole.persons[0], skeleton), axis=0), axis=-1).mean(axis=1)
        fastest = int(np.argmax(speed))
        assert 0 <= fastest - first <= round(MIDCUT_LEAD * whole.fps)  # starts at most the lead before it, in the jump
        feet = body_positions(part.persons[0], skeleton)[:, [skeleton.index("L_Ankle"), skeleton.index("R_Ankle")], 2]
        assert feet.min(axis=1).max() > feet.min() + 0.1  # the flight is inside the cut
    assert mid_cuts(jumps, seed=5)[0].persons[0].root_pos[0].tolist() == cut[0].persons[0].root_pos[0].tolist()


def test_prior_scores_long_set_walks_and_jogs_for_the_seconds_asked(monkeypatch):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import numpy as np
    import prior_scores

    monkeypatch.setattr(prior_scores, "LONG_WALKS", (1, 30.0))
    monkeypatch.setattr(prior_scores, "LONG_JOGS", (2, 20.0))
    clips = prior_scores.long_clips(seed=5)
    assert [clip.name.split("_v")[0] for clip in clips] == ["long_walk0", "long_jog0", "long_jog1"]
    assert [clip.duration for clip in clips] == pytest.approx([30.0, 20.0, 20.0])
    for clip in clips:
        speed = float(clip.name.rsplit("_v", 1)[1])
        root = clip.persons[0].root_pos[:, :2]
        velocity = np.linalg.norm(np.diff(root, axis=0), axis=1) * clip.fps
        assert abs(np.mean(velocity[-150:]) - speed) < 0.1 * speed  # still under way in the last 5 s (no stop)
    assert clips[1].persons[0].root_pos.tobytes() != clips[2].persons[0].root_pos.tobytes()


def test_prior_scores_long_dances_last_the_seconds_asked_and_differ(monkeypatch):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import prior_scores

    monkeypatch.setattr(prior_scores, "LONG_DANCES", (2, 20.0))
    clips = prior_scores.long_dances(seed=5)
    assert [clip.name for clip in clips] == ["long_dance0", "long_dance1"]
    assert [clip.duration for clip in clips] == pytest.approx([20.0, 20.0], abs=0.05)
    assert all(clip.source["family"] == "dance" for clip in clips)
    assert clips[0].persons[0].root_pos.tobytes() != clips[1].persons[0].root_pos.tobytes()


@pytest.mark.parametrize("make, prefix, seconds, window", [
    ("fast_runs", "fastrun", 8.0, slice(-60, None)),  # from standing: at its speed over the last 2 s
    ("fast_cruises", "fastcruise", 5.0, slice(0, 15)),  # already under way: at its speed from the first half second
])
def test_prior_scores_fast_runs_reach_each_speed_and_are_grouped_by_it(monkeypatch, make, prefix, seconds, window):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import numpy as np
    import prior_scores

    monkeypatch.setattr(prior_scores, "FAST_RUN_SPEEDS", (3.0, 4.5))
    monkeypatch.setattr(prior_scores, "FAST_RUNS_EACH", 1)
    clips = getattr(prior_scores, make)(seed=5)
    assert [clip.name for clip in clips] == [f"{prefix}_v3.0_0000", f"{prefix}_v4.5_0000"]
    assert [prior_scores.family_of(clip.name) for clip in clips] == [f"{prefix}_v3.0", f"{prefix}_v4.5"]
    for clip, speed in zip(clips, (3.0, 4.5)):
        assert clip.duration == pytest.approx(seconds, abs=0.05)
        velocity = np.linalg.norm(np.diff(clip.persons[0].root_pos[:, :2], axis=0), axis=1) * clip.fps
        assert np.mean(velocity[window]) == pytest.approx(speed, rel=0.1)


@pytest.mark.parametrize("ending", ["stop", "turn", "walk"])
def test_prior_scores_run_endings_reach_each_speed_then_stop_turn_back_or_walk(monkeypatch, ending):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import numpy as np
    import prior_scores
    from motion_lib.formats.common import wxyz_to_rotations

    monkeypatch.setattr(prior_scores, "RUN_END_SPEEDS", (2.0, 3.5))
    monkeypatch.setattr(prior_scores, "RUN_ENDS_EACH", 1)
    clips = prior_scores.run_endings(ending, seed=5)
    assert [clip.name for clip in clips] == [f"run{ending}_v2.0_0000", f"run{ending}_v3.5_0000"]
    assert [clip.source["family"] for clip in clips] == ["jog", "run"]
    for clip, speed in zip(clips, (2.0, 3.5)):
        velocity = np.linalg.norm(np.diff(clip.persons[0].root_pos[:, :2], axis=0), axis=1) * clip.fps
        params = clip.source["params"]
        assert params["ending"] == ending
        cruising = slice(int(params["cruise_from"] * clip.fps), int(params["cruise_to"] * clip.fps))
        assert np.mean(velocity[cruising]) == pytest.approx(speed, rel=0.1)
        if ending == "stop":
            assert velocity[-10:].max() < 0.05  # standing at the end
        elif ending == "walk":
            assert 0.9 < np.mean(velocity[-30:]) < 1.6  # walking at the end
        else:  # running back the way it came
            assert np.mean(velocity[-10:]) == pytest.approx(speed, rel=0.15)
            yaw = wxyz_to_rotations(clip.persons[0].root_rot).as_euler("ZYX", degrees=True)[:, 0]
            turned = np.degrees(np.angle(np.exp(1j * np.radians(yaw[-15:].mean() - yaw[cruising].mean()))))
            assert 130.0 < abs(turned) <= 180.0


def test_held_pelvis_bad_input_is_one_clear_sentence(tmp_path):
    prior = str(REPO / "data/prior/smpl_prior_cpu.pt")
    result = run_benchmark("held_pelvis.py", prior, "--family", "moon")
    assert_one_clear_error(result, "error: unknown motion family 'moon'; known: walk")
    assert result.returncode == 2
    result = run_benchmark("held_pelvis.py", prior, "--clips", "stand", "fly")
    assert_one_clear_error(result, "has no clip fly")
    result = run_benchmark("held_pelvis.py", str(tmp_path / "missing.pt"))
    assert_one_clear_error(result, "error: no checkpoint file", "missing.pt")
    result = run_benchmark("held_pelvis.py", str(REPO / "data/experts/support_rise_from_chair.pt"))
    assert_one_clear_error(result, "is not a single-person prior (it has 2 policies)")


def test_held_pelvis_tells_a_fall_of_balance_from_one_of_the_reference():
    """The shipped prior falls in a dance (seed 584) but follows it with its pelvis held: the reference is
    one a body can follow, the balance is what the prior lacks (a table line per clip, a count per way)."""
    result = run_benchmark("held_pelvis.py", str(REPO / "data/prior/smpl_prior_cpu.pt"), "--family", "dance",
                           "--count", "1", "--seed", "584")
    assert result.returncode == 0, result.stderr
    assert "| clip | alone | position held | pose held |" in result.stdout
    line = next(row for row in result.stdout.splitlines() if row.startswith("| dance_"))
    assert line.split(" | ")[1].startswith("falls at ") and line.count("tracked (") == 2, line
    assert "alone: 0/1 tracked | position held: 1/1 tracked | pose held: 1/1 tracked" in result.stdout


@pytest.mark.parametrize(("name", "family"), [("dance24", "dance"), ("turn24", "turn"), ("kick24", "kick"),
                                              ("jump24", "jump"), ("broadjump24", "broad_jump"),
                                              ("jack24", "jumping_jack"), ("hop24", "hop"), ("longjump24", "long_jump"),
                                              ("spinkick24", "spin_kick")])
def test_prior_scores_family_sets_are_24_clips_of_the_seed_asked(tmp_path, monkeypatch, name, family):
    """`dance24`, `turn24`, `kick24`, `jump24`, `broadjump24`, `jack24`, `hop24`, `longjump24` and `spinkick24` ask the
    families command for 24 clips of one family alone, from the set's seed, once."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import learning_curve
    import prior_scores

    calls = []
    monkeypatch.setattr(learning_curve, "run", lambda command, **kwargs: calls.append(command))
    path = prior_scores.clip_set(name, tmp_path, 4, seed=777)
    assert path == tmp_path / f"{name}.pkl"
    (command,) = calls
    assert command[command.index("--clips") + 1] == "24" and command[command.index("--seed") + 1] == "777"
    assert command[command.index("--mix") + 1] == f"{family}=1"
