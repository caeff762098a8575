"""Capture on a treadmill given the belt's travel (`motion_lib.treadmill`): the belt found from the planted feet,
ground capture kept as read, and `stage=convert` walking it over the ground."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistmimic.stages.convert import read_source
from motion_lib.clip import Clip, PersonMotion
from motion_lib.families.checks import max_foot_slide
from motion_lib.families.locomotion import run, walk
from motion_lib.families.registry import make_clip
from motion_lib.families.transforms import from_cruise, on_treadmill, with_subject_scale
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.common import body_positions
from motion_lib.formats.phc import read_clips
from motion_lib.treadmill import fit_treadmill, off_treadmill
from motion_lib.skeleton import get_skeleton
from tests.test_reader_bvh import read_one, write_bvh
from tests.test_run_cli import run_cli
from tests.test_subject_scale import write_amass

SMPL = get_skeleton("smpl")


def fit(clip):
    (person,) = clip.persons
    return fit_treadmill(person, body_positions(person, SMPL), SMPL, clip.fps)


def straight(maker, speed: float, seed: int = 3):
    return from_cruise(maker(np.random.default_rng(seed), speed=speed, turn_rate=0.0, duration=5.0))


@pytest.mark.parametrize("maker, speed", [(walk, 0.7), (walk, 1.4), (run, 3.0)])
def test_the_belt_is_found_and_its_travel_stops_the_planted_feet_sliding(maker, speed):
    ground = straight(maker, speed)
    belt = on_treadmill(ground)
    assert max_foot_slide(belt.persons[0], SMPL) > 0.3  # carried by the belt through each stance
    found = fit(belt)
    assert found.applied and found.on_belt_share > 0.8, found
    np.testing.assert_allclose(found.belt_velocity, belt.source["treadmill_belt_velocity"], atol=0.01)
    walked = off_treadmill(belt.persons[0], found.belt_velocity, belt.fps)
    np.testing.assert_allclose(walked.root_pos, ground.persons[0].root_pos - ground.persons[0].root_pos[0]
                               + walked.root_pos[0], atol=0.01 * len(walked.root_pos) / belt.fps)
    assert max_foot_slide(walked, SMPL) < 0.05


def test_capture_on_the_ground_is_kept_as_read_with_its_reason():
    turning = make_clip("walk", np.random.default_rng(11))
    cases = {"walk": turning, "run": make_clip("run", np.random.default_rng(12)),
             "dance": make_clip("dance", np.random.default_rng(13)), "tall": with_subject_scale(turning, 1.15),
             "squat": make_clip("squat", np.random.default_rng(14))}
    for name, clip in cases.items():
        found = fit(clip)
        assert not found.applied, (name, found)
        assert found.reason in ("planted feet keep still: on the ground", "too few frames with a foot down"), name
    (belt,) = on_treadmill(straight(walk, 1.0)).persons
    short = Clip("short", 30.0, "smpl", [PersonMotion(belt.root_pos[:45], belt.root_rot[:45], belt.joint_rot[:45])])
    assert fit(short).reason == "shorter than 2 s" and not fit(short).applied


def test_convert_walks_treadmill_capture_over_the_ground(tmp_path):
    ground = straight(walk, 1.2)
    folder = tmp_path / "amass"
    folder.mkdir()
    write_amass(folder / "belt.npz", on_treadmill(ground))
    write_amass(folder / "ground.npz", ground)
    out, run_dir = tmp_path / "clips.pkl", tmp_path / "run"
    result = run_cli("stage=convert", "source=amass", f"input={folder}", f"output={out}", f"run_dir={run_dir}",
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert list(summary["treadmill"]) == ["belt"] and "captured on a treadmill" in result.stdout
    clips = {clip.name: clip for clip in read_clips(out)}
    travel = clips["belt"].persons[0].root_pos[-1, :2] - clips["belt"].persons[0].root_pos[0, :2]
    expected = ground.persons[0].root_pos[-1, :2] - ground.persons[0].root_pos[0, :2]
    np.testing.assert_allclose(travel, expected, atol=0.05)
    assert max_foot_slide(clips["belt"].persons[0], SMPL) < 0.05
    kept, _ = read_source("amass", folder, ReadOptions(skeleton=SMPL, treadmill_to_ground=False), "convert", "read")
    assert all("treadmill" not in clip.source for clip in kept)
    assert max_foot_slide(next(c for c in kept if c.name == "belt").persons[0], SMPL) > 0.5


def test_bvh_capture_of_a_taller_subject_on_a_treadmill_walks_over_the_ground(tmp_path):
    ground = straight(walk, 1.2)
    write_bvh(tmp_path / "belt.bvh", on_treadmill(ground), 1.1)
    clip = read_one(tmp_path / "belt.bvh")
    assert clip.source["treadmill"]["applied"]
    assert clip.source["subject_scale"]["factor"] == pytest.approx(1.1, abs=0.01)
    assert max_foot_slide(clip.persons[0], SMPL) < 0.05
    travel = clip.persons[0].root_pos[-1, :2] - clip.persons[0].root_pos[0, :2]
    np.testing.assert_allclose(travel, ground.persons[0].root_pos[-1, :2] - ground.persons[0].root_pos[0, :2],
                               atol=0.05)
