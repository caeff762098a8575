"""A chair put under capture that sits on one it does not show (`motion_lib.seats.seats_from_motion`): where the
generator put it, for sitting persons only, with a reason where none fits, and by `stage=convert`."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from assistmimic.stages.convert import read_source
from motion_lib.clip import Clip, PersonMotion
from motion_lib.families.registry import make_clip
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.common import body_positions
from motion_lib.formats.phc import read_clips
from motion_lib.seats import bed_under_lying, seat_from_motion, seat_underside, seats_from_motion
from motion_lib.skeleton import get_skeleton
from tests.test_furniture import demo
from tests.test_run_cli import run_cli
from tests.test_subject_scale import write_amass

SMPL = get_skeleton("smpl")


def unfurnished(clip: Clip) -> Clip:
    return dataclasses.replace(clip, furniture=[], source=dict(clip.source))


def test_the_chair_goes_back_under_a_capture_that_sits_and_nowhere_else():
    sitting = demo("sit_down_stand_up")
    placed = seats_from_motion(unfurnished(sitting), SMPL)
    assert placed.furniture == sitting.furniture  # the generator's chair, from the motion alone
    assert placed.source["seats_placed"] == [{"person": 0, "height_m": sitting.furniture[0].size[2]}]
    held_up = [unfurnished(demo(name)) for name in ("stand", "step", "help_up_from_floor")]
    held_up += [make_clip(family, np.random.default_rng(7)) for family in ("squat", "kneel", "floor_sit_stand")]
    held_up += [make_clip("run", np.random.default_rng(seed)) for seed in range(12)]  # lowest in single stance
    squat = make_clip("squat", np.random.default_rng(7)).persons[0]
    held_up.append(Clip("squat_5cm_up", 30.0, "smpl", [PersonMotion(squat.root_pos + [0.0, 0.0, 0.05],
                                                                       squat.root_rot, squat.joint_rot)]))
    for clip in held_up:  # on their feet, knees or the floor (wherever it is): held up by what they touch
        kept = seats_from_motion(clip, SMPL)
        assert not kept.furniture, clip.name
        assert "seats_placed" not in kept.source and "furniture_unplaced" not in kept.source, clip.name
    furnished = demo("support_rise_from_chair")
    assert seats_from_motion(furnished, SMPL).furniture == demo("support_rise_from_chair").furniture
    tried = unfurnished(sitting)
    tried.source["furniture_unplaced"] = "the bed is not placed: the person on it lies down"  # the reader's reason
    assert seats_from_motion(tried, SMPL).furniture == [] and "seats_placed" not in tried.source


def test_a_person_sitting_higher_than_any_seat_gets_a_reason_not_a_chair():
    person = demo("sit_down_stand_up").persons[0]
    raised = PersonMotion(person.root_pos + [0.0, 0.0, 0.5], person.root_rot, person.joint_rot)  # on a 0.9 m ledge
    clip = seats_from_motion(Clip("ledge", 30.0, "smpl", [raised]), SMPL)
    assert clip.furniture == [] and "seats_placed" not in clip.source
    assert clip.source["furniture_unplaced"].startswith("person 0: the chair is not placed: the person on it sits "
                                                        "lowest at 0.9")


def standing(frames: int, offset) -> PersonMotion:
    """The demo's standing person for `frames` frames (looped), its root moved by `offset` (x, y, z)."""
    stand = demo("stand").persons[0]
    rows = np.arange(frames) % len(stand.root_pos)
    return PersonMotion(stand.root_pos[rows] + offset, stand.root_rot[rows], stand.joint_rot[rows])


def test_a_bed_goes_under_a_person_lying_above_the_floor_someone_stands_on():
    person = make_clip("lie_to_sit", np.random.default_rng(502)).persons[0]  # lies on the floor, then sits up
    raised = PersonMotion(person.root_pos + [0.0, 0.0, 0.45], person.root_rot, person.joint_rot)
    far = standing(len(raised.root_pos), np.r_[person.root_pos[0, :2] + [4.0, 0.0], 0.0])
    clip = seats_from_motion(Clip("in_bed", 30.0, "smpl", [raised, far]), SMPL)
    (bed,) = clip.furniture
    assert bed.kind == "bed" and clip.source["seats_placed"] == [{"person": 0, "height_m": bed.size[2]}]
    lowest = seat_underside(person, SMPL, person.root_pos[0, :2] + [100.0, 0.0], 0.0).min()
    assert bed.size[2] == pytest.approx(0.45 + lowest, abs=0.02)
    body = body_positions(raised, SMPL)[:, [0, SMPL.index("Head"), SMPL.index("L_Ankle"), SMPL.index("R_Ankle")]]
    local = Rotation.from_euler("z", -bed.yaw, degrees=True).apply((body[..., :2] - bed.pos).reshape(-1, 2) @ np.c_[
        np.eye(2), np.zeros(2)])  # pelvis, head and ankles in the bed's frame, every frame
    assert (np.abs(local[:, 0]) < bed.size[0] / 2).all() and (np.abs(local[:, 1]) < bed.size[1] / 2).all()
    for alone in (person, raised):  # lying on the floor; nothing lower than the lying body: taken for the floor
        kept = seats_from_motion(Clip("alone", 30.0, "smpl", [alone]), SMPL)
        assert kept.furniture == [] and "seats_placed" not in kept.source and "furniture_unplaced" not in kept.source
    assert seat_from_motion(raised, SMPL, "chair")[1] == ("the chair is not placed: the person on it lies down (a bed "
                                                          "would be)")


def test_a_bed_is_moved_clear_of_the_feet_of_someone_standing_beside_it():
    lying = make_clip("lie_to_sit", np.random.default_rng(502)).persons[0]
    lying = PersonMotion(lying.root_pos + [0.0, 0.0, 0.45], lying.root_rot, lying.joint_rot)
    alone = bed_under_lying(lying, SMPL)
    across = Rotation.from_euler("z", alone.yaw + 90.0, degrees=True).apply([1.0, 0.0, 0.0])[:2]
    stand = demo("stand").persons[0]
    beside = standing(len(lying.root_pos), np.r_[alone.pos + 0.35 * across - stand.root_pos[0, :2], 0.0])
    (bed,) = seats_from_motion(Clip("pair", 30.0, "smpl", [lying, beside]), SMPL).furniture
    moved = (np.subtract(bed.pos, alone.pos)) @ across
    assert moved < -0.1 and bed.yaw == alone.yaw and bed.size == alone.size  # away from the standing person
    ankles = body_positions(beside, SMPL)[:, [SMPL.index("L_Ankle"), SMPL.index("R_Ankle")], :2].reshape(-1, 2)
    assert ((ankles - bed.pos) @ across >= bed.size[1] / 2 + 0.1 - 1e-6).all()
    pelvis = body_positions(lying, SMPL)[:, 0, :2]
    assert (np.abs((pelvis[lying.root_pos[:, 2] < lying.root_pos[:, 2].min() + 0.01] - bed.pos) @ across)
            <= bed.size[1] / 2 - 0.15 + 1e-6).all()


def test_convert_puts_a_chair_under_captured_sitting(tmp_path):
    folder = tmp_path / "amass"
    folder.mkdir()
    write_amass(folder / "sit.npz", demo("sit_down_stand_up"))
    write_amass(folder / "stand.npz", demo("stand"))
    out, run_dir = tmp_path / "clips.pkl", tmp_path / "run"
    result = run_cli("stage=convert", "source=amass", f"input={folder}", f"output={out}", f"run_dir={run_dir}",
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    (height,) = [seat["height_m"] for seat in summary["seats_placed"]["sit"]]
    assert list(summary["seats_placed"]) == ["sit"] and "placed a chair or a bed" in result.stdout
    clips = {clip.name: clip for clip in read_clips(out)}
    (chair,) = clips["sit"].furniture
    original = demo("sit_down_stand_up").furniture[0]
    assert chair.kind == "chair" and height == chair.size[2]
    assert abs(chair.size[2] - original.size[2]) < 0.01 and np.hypot(*np.subtract(chair.pos, original.pos)) < 0.01
    assert clips["stand"].furniture == []
    off = ReadOptions(skeleton=SMPL)
    read, _ = read_source("amass", folder, off, "convert", "converted", place_seats=False)
    assert [clip.furniture for clip in read] == [[], []]
