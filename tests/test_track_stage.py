"""`stage=track`: a generated (InterGen-format) clip no policy was trained on is read, given roles and tracked
by a two-agent checkpoint end to end; automatic roles; bad input ends in one clear sentence."""

import csv
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.formats.common import Y_UP_TO_Z_UP, body_positions
from motion_lib.formats.phc import read_clips
from motion_lib.roles import assign_roles, start_head_heights, swap_persons
from motion_lib.skeleton import SMPL_JOINT_NAMES, get_skeleton
from tests.conftest import REPO
from tests.test_eval_assist import cut, save_expert
from tests.test_run_cli import run_cli

SMPL = get_skeleton("smpl")
DEMO = REPO / "data" / "demo" / "assist.pkl"
PRIOR = REPO / "data" / "prior" / "smpl_prior_cpu.pt"


def demo_clip(name="help_up_from_floor") -> Clip:
    return {c.name: c for c in read_clips(DEMO)}[name]


def intergen_file(path, clip: Clip) -> None:
    """`clip` as InterGen's (T, 2, 262) output, persons in the clip's order: 22 SMPL joint positions, y-up; the
    velocities, rotations and foot contacts (unused by the reader) are left at zero."""
    motion = np.zeros((clip.num_frames, 2, 262), dtype=np.float32)
    joints = SMPL.indices(SMPL_JOINT_NAMES[:22])
    for p, person in enumerate(clip.persons):
        z_up = body_positions(person, SMPL)[:, joints]
        motion[:, p, :66] = Y_UP_TO_Z_UP.inv().apply(z_up.reshape(-1, 3)).reshape(clip.num_frames, 66)
    np.save(path, motion)


def assert_one_error_line(result, phrase):
    """Exit code 2 and one `error:` line (after any progress bar), no traceback."""
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert phrase in errors[0], errors[0]


def test_auto_roles_make_the_person_with_the_lower_head_the_recipient():
    help_up = demo_clip()  # the recipient (person 1) starts sitting on the floor
    heights = start_head_heights(help_up)
    assert heights[1] < heights[0] - 0.5
    listed_first = swap_persons(help_up)  # a file that lists the recipient first
    clip, decision = assign_roles(listed_first, "auto")
    assert decision["swapped"] and decision["supporter_input_person"] == 1 and decision["recipient_input_person"] == 0
    assert "person 0's head is lower" in decision["reason"]
    np.testing.assert_array_equal(clip.persons[1].root_pos, help_up.persons[1].root_pos)
    assert clip.source["roles"]["swapped"] and start_head_heights(clip) == pytest.approx(heights)
    unchanged, decision = assign_roles(help_up, "auto")
    assert not decision["swapped"] and unchanged.persons[0] is help_up.persons[0]
    assert assign_roles(listed_first, "as_is")[1]["supporter_input_person"] == 0
    assert assign_roles(help_up, "swapped")[0].persons[0] is help_up.persons[1]
    standing = Clip("both_stand", help_up.fps, help_up.skeleton, [help_up.persons[0], help_up.persons[0]])
    clip, decision = assign_roles(standing, "auto")
    assert not decision["swapped"] and "kept the order read" in decision["reason"]
    with pytest.raises(UserInputError, match="holds 1 person"):
        assign_roles(Clip("one", help_up.fps, help_up.skeleton, help_up.persons[:1]), "auto")
    with pytest.raises(UserInputError, match="unknown roles mode 'lower'"):
        assign_roles(help_up, "lower")


def test_a_generated_held_out_clip_is_tracked_end_to_end(tmp_path):
    generated = tmp_path / "generated"
    generated.mkdir()
    # 1.2 s of the help-up (the expert below was trained on other clips), the recipient listed first.
    intergen_file(generated / "sample_0.npy", swap_persons(cut(demo_clip(), 0, 36, "held_out")))
    np.save(generated / "broken.npy", np.zeros((20, 2, 200), dtype=np.float32))
    checkpoint = save_expert(tmp_path / "expert.pt", DEMO, clips=["support_rise_from_chair"])
    run_dir = tmp_path / "track"
    result = run_cli("stage=track", f"checkpoint={checkpoint}", "source=intergen", f"input={generated}",
                     f"run_dir={run_dir}", "sim.nthread=1", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stage"] == "track" and summary["task"] == "assist" and summary["clips"] == 1
    assert 0.0 <= summary["success_rate"] <= 1.0
    assert np.isfinite(summary["mpjpe_mm"]) and 0 < summary["mpjpe_mm"] < 1000
    assert summary["clips_skipped"] == 1 and "shape (20, 2, 200)" in summary["skipped"][0]["reason"]
    (roles,) = summary["roles"]
    assert roles["clip"] == "sample_0" and roles["swapped"] and roles["supporter_input_person"] == 1
    assert roles["head_height_m"][0] < roles["head_height_m"][1] - 0.5
    assert "sample_0: supporter = person 1 as read" in result.stdout and "success rate" in result.stdout
    # The policy tracking the clip, rendered (or, on a machine without offscreen OpenGL, one warning line).
    if summary["video"] is None:
        assert "warning: no video" in result.stdout
    else:
        assert summary["video"] == str(run_dir / "videos" / "sample_0.mp4") and (run_dir / "videos" / "sample_0.mp4").stat().st_size > 1000

    with open(run_dir / "track_clips.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["clip"] == "sample_0" and float(row["mpjpe_mm"]) == pytest.approx(summary["mpjpe_mm"], rel=1e-3)
    (clip,) = read_clips(run_dir / "clips.pkl")
    assert clip.name == "sample_0" and clip.num_frames == 36 and "ik_fit_error_mean" in clip.source
    assert clip.source["roles"]["swapped"] and clip.source["supporter_in_file"] == 1
    supporter_head, recipient_head = start_head_heights(clip)
    assert recipient_head < supporter_head - 0.5


def test_bad_input_is_one_clear_sentence(tmp_path):
    np.save(tmp_path / "wrong.npy", np.zeros((20, 2, 200), dtype=np.float32))
    one_person = demo_clip().persons[0]
    joints = SMPL.indices(SMPL_JOINT_NAMES[:22])
    np.save(tmp_path / "single.npy", body_positions(one_person, SMPL)[:20, None, joints])  # keypoints (T, 1, 22, 3)
    checkpoint = save_expert(tmp_path / "expert.pt", DEMO)
    common = ("stage=track", "sim.nthread=1")
    cases = [
        ((f"checkpoint={checkpoint}", "source=intergen", f"input={tmp_path / 'wrong.npy'}"),
         "none of the 1 clips in", "InterGen motion has shape (20, 2, 200)"),
        ((f"checkpoint={checkpoint}", "source=keypoints", f"input={tmp_path / 'single.npy'}"),
         "holds no two-person clip", "stage=track tracks two-person clips"),
        ((f"checkpoint={PRIOR}", "source=intergen", f"input={tmp_path / 'wrong.npy'}"),
         "is a single-person tracking prior; stage=track needs a two-agent checkpoint", ""),
        ((f"checkpoint={checkpoint}", "source=intergen"), "this stage needs input=", ""),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:  # the runs are separate processes
        results = pool.map(lambda i: run_cli(*common, *cases[i][0], f"run_dir={tmp_path / f'run{i}'}", tmp_path=tmp_path),
                           range(len(cases)))
    for (_, *phrases), result in zip(cases, results):
        for phrase in phrases:
            assert_one_error_line(result, phrase)
