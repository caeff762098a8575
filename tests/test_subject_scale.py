"""The captured person's size, measured from their planted feet, and the root travel rescaled to the skeleton's
(`motion_lib.subject_scale`): what `convert` does to capture of people taller or shorter than the skeleton."""

import json

import numpy as np
import pytest

from motion_lib.families.locomotion import run, walk
from motion_lib.families.standing import squat, stand
from motion_lib.families.transforms import with_reference_noise, with_subject_scale
from motion_lib.formats.common import body_positions, smpl_pose_from_person
from motion_lib.formats.phc import read_clips, write_clips
from motion_lib.furniture import Furniture
from motion_lib.skeleton import get_skeleton
from motion_lib.subject_scale import APPLY_ABOVE, fit_subject_scale, scale_travel
from tests.test_run_cli import run_cli

SMPL = get_skeleton("smpl")


def fit(clip):
    return fit_subject_scale(clip.persons, [body_positions(p, SMPL) for p in clip.persons], SMPL, clip.fps)


def walk_clip(seed=3, speed=1.3):
    return walk(np.random.default_rng(seed), speed=speed, turn_rate=20.0, duration=5.0, stop=False)


def planted_slide(clip):
    """Mean speed (m/s) of the stillest foot point on the floor over the stance frames (those below 0.3 m/s)."""
    pos = body_positions(clip.persons[0], SMPL)[:, [SMPL.index(n) for n in SMPL.foot_body_names]]
    speed = np.linalg.norm(np.diff(pos, axis=0), axis=2) * clip.fps
    on_floor = pos[:-1, :, 2] <= pos[:-1, :, 2].min(axis=1, keepdims=True) + 0.02
    stillest = np.where(on_floor, speed, np.inf).min(axis=1)
    return stillest[stillest < 0.3].mean()


@pytest.mark.parametrize("size", [0.85, 1.15])
def test_the_size_of_a_resized_walk_is_measured_from_its_planted_feet(size):
    result = fit(with_subject_scale(walk_clip(), size))
    assert result.applied and result.factor == pytest.approx(size, rel=0.025)
    assert result.planted_frames > 60 and result.planted_travel_m > 2.0


def test_a_resized_squat_is_measured_by_the_pelvis_drop_and_a_run_by_its_stance_feet():
    squatting = fit(with_subject_scale(squat(np.random.default_rng(0), repeats=2), 1.15))
    assert squatting.applied and squatting.factor == pytest.approx(1.15, rel=0.02)
    running = fit(with_subject_scale(run(np.random.default_rng(1), duration=5.0), 0.85))
    assert running.applied and running.factor == pytest.approx(0.85, rel=0.05)


def test_motion_in_the_skeletons_proportions_is_kept_as_read():
    result = fit(walk_clip())
    assert not result.applied and abs(result.factor - 1.0) <= APPLY_ABOVE and "kept as read" in result.reason


def test_standing_still_and_jittery_capture_are_not_measured():
    standing = fit(stand(np.random.default_rng(0)))
    assert standing.factor is None and not standing.applied and "travel" in standing.reason
    noisy = with_reference_noise(with_subject_scale(walk_clip(), 1.15), np.random.default_rng(0), 1.0, 0.005)
    assert not fit(noisy).applied  # 1 degree of jitter per joint hides the planted frames: no guess is applied


def test_scale_travel_moves_every_person_about_person_0s_first_root_and_keeps_rotations():
    clip = walk_clip()
    scaled = scale_travel(clip.persons, 1.2)
    origin = clip.persons[0].root_pos[0]
    np.testing.assert_allclose(scaled[0].root_pos, origin + 1.2 * (clip.persons[0].root_pos - origin))
    np.testing.assert_array_equal(scaled[0].joint_rot, clip.persons[0].joint_rot)
    np.testing.assert_allclose(scale_travel(scaled, 1 / 1.2)[0].root_pos, clip.persons[0].root_pos, atol=1e-12)


def write_amass(path, clip):
    pose, trans = smpl_pose_from_person(clip.persons[0], SMPL, "smpl")
    np.savez(path, poses=pose.reshape(len(pose), -1), trans=trans, betas=np.zeros(10), gender=np.array("neutral"),
             mocap_framerate=np.array(clip.fps))


def test_convert_rescales_a_tall_subjects_travel_so_the_planted_feet_stop_sliding(tmp_path):
    original = walk_clip()
    folder = tmp_path / "amass"
    folder.mkdir()
    write_amass(folder / "tall_walk.npz", with_subject_scale(original, 1.15))
    write_amass(folder / "standing.npz", stand(np.random.default_rng(0)))
    converted = {}
    for fit_size in ("true", "false"):
        out, run_dir = tmp_path / f"fit_{fit_size}.pkl", tmp_path / f"run_{fit_size}"
        result = run_cli("stage=convert", "source=amass", f"input={folder}", f"output={out}", f"run_dir={run_dir}",
                         f"stage.fit_subject_scale={fit_size}", tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        converted[fit_size] = {clip.name: clip for clip in read_clips(out)}
        summary = json.loads((run_dir / "summary.json").read_text())["subject_scale"]
        if fit_size == "true":
            assert list(summary["rescaled"]) == ["tall_walk"] and summary["kept_as_read"] == 1
            assert summary["rescaled"]["tall_walk"] == pytest.approx(1.15, rel=0.025)
            assert "rescaled" in result.stdout
        else:
            assert summary == {"rescaled": {}, "kept_as_read": 2}
    fitted, as_read = converted["true"]["tall_walk"], converted["false"]["tall_walk"]
    travel = np.linalg.norm(original.persons[0].root_pos[-1, :2] - original.persons[0].root_pos[0, :2])
    fitted_travel = np.linalg.norm(fitted.persons[0].root_pos[-1, :2] - fitted.persons[0].root_pos[0, :2])
    assert fitted_travel == pytest.approx(travel, rel=0.025)
    assert planted_slide(fitted) < 0.4 * planted_slide(as_read)
    assert fitted.source["subject_scale"]["applied"] and not as_read.source.get("subject_scale")
    np.testing.assert_allclose(converted["true"]["standing"].persons[0].root_pos,
                               converted["false"]["standing"].persons[0].root_pos, atol=1e-9)


def test_convert_of_a_phc_pickle_rescales_it_and_stages_read_it_as_stored(tmp_path):
    tall = with_subject_scale(walk_clip(), 1.15)
    write_clips(tmp_path / "tall.pkl", [tall])
    (as_stored,) = read_clips(tmp_path / "tall.pkl")  # what stage=eval data=tall.pkl tracks
    np.testing.assert_allclose(as_stored.persons[0].root_pos, tall.persons[0].root_pos, atol=1e-9)
    result = run_cli("stage=convert", "source=phc", f"input={tmp_path / 'tall.pkl'}", f"output={tmp_path / 'out.pkl'}",
                     f"run_dir={tmp_path / 'run'}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    (converted,) = read_clips(tmp_path / "out.pkl")
    assert converted.source["subject_scale"]["applied"]
    assert converted.source["subject_scale"]["factor"] == pytest.approx(1.15, rel=0.025)


def test_convert_of_a_pickle_keeps_a_furnished_clip_where_it_is(tmp_path):
    """Lying on a bed at the start, the lowest point is the body: a floor fix would lower it through the bed."""
    clip = walk_clip()
    clip.persons[0].root_pos[:, 2] += 0.5  # as if the whole walk were 0.5 m up, on a platform
    clip.furniture = [Furniture(kind="bed", pos=(0.0, 0.0), yaw=0.0, size=(2.0, 1.0, 0.5))]
    write_clips(tmp_path / "on_bed.pkl", [clip])
    result = run_cli("stage=convert", "source=phc", f"input={tmp_path / 'on_bed.pkl'}",
                     f"output={tmp_path / 'out.pkl'}", f"run_dir={tmp_path / 'run'}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    (converted,) = read_clips(tmp_path / "out.pkl")
    np.testing.assert_allclose(converted.persons[0].root_pos, clip.persons[0].root_pos, atol=1e-9)
    assert "subject_scale" not in converted.source and len(converted.furniture) == 1


def test_stages_read_a_leading_snap_as_stored_and_convert_drops_it(tmp_path):
    clip = walk_clip()
    person = clip.persons[0]
    person.joint_rot[0] = [1.0, 0.0, 0.0, 0.0]  # a T-pose first frame, as CMU's BVH conversions start
    write_clips(tmp_path / "snap.pkl", [clip])
    assert read_clips(tmp_path / "snap.pkl")[0].num_frames == clip.num_frames
    result = run_cli("stage=convert", "source=phc", f"input={tmp_path / 'snap.pkl'}",
                     f"output={tmp_path / 'out.pkl'}", f"run_dir={tmp_path / 'run'}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    (converted,) = read_clips(tmp_path / "out.pkl")
    assert converted.num_frames == clip.num_frames - 1 and converted.source["leading_frames_dropped"] == 1
