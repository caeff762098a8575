"""The built-in demo clips: the shipped files match the generator, and the motion is plausible
(durations, feet on the floor without sliding, no interpenetration, hands on the recipient while
lifting, smooth, the recipient rising)."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

from motion_lib import demo_clips
from motion_lib.capsules import CapsuleModel
from motion_lib.clip_stats import HAND_CONTACT_GAP, clip_stats, hand_contact, surface_gaps
from motion_lib.formats.common import body_positions, lowest_point, wxyz_to_rotations
from motion_lib.formats.phc import read_clips
from motion_lib.keyframes.limbs import ankle_height
from motion_lib.seats import seat_underside
from motion_lib.skeleton import get_skeleton

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"
FILES = {"assist.pkl": demo_clips.assist_clips, "single.pkl": demo_clips.single_clips}
SKELETON = get_skeleton("smpl")
# Highest recipient pelvis (metres) at the start of each assisted rise: on the floor, or on a standard
# chair's seat (0.43 m; the pelvis joint sits ~0.18 m above the seat, the thighs resting on it).
SEATED_PELVIS_MAX = {"help_up_from_floor": 0.2, "support_rise_from_chair": 0.4318 + 0.2}


@pytest.fixture(scope="module")
def generated() -> dict[str, list]:
    return {name: make() for name, make in FILES.items()}


@pytest.fixture(scope="module")
def clips(generated) -> list:
    return [clip for group in generated.values() for clip in group]


@pytest.fixture(scope="module")
def positions(clips) -> dict[str, list[np.ndarray]]:
    """Clip name -> per person (T, B, 3) body positions."""
    return {clip.name: [body_positions(p, SKELETON) for p in clip.persons] for clip in clips}


def _max_position_error(a, b) -> float:
    assert [c.name for c in a] == [c.name for c in b]
    errors = []
    for x, y in zip(a, b):
        assert x.num_frames == y.num_frames and len(x.persons) == len(y.persons)
        errors += [np.abs(body_positions(p, SKELETON) - body_positions(q, SKELETON)).max()
                   for p, q in zip(x.persons, y.persons)]
    return max(errors)


def test_shipped_files_match_the_generator(generated):
    for file_name, fresh in generated.items():
        shipped = read_clips(DEMO / file_name)
        assert all(c.fps == 30.0 and c.skeleton == "smpl" for c in shipped)
        assert _max_position_error(shipped, fresh) < 1e-5, f"{file_name} is stale: run scripts/make_demo_clips.py"


def test_script_writes_the_same_clips(tmp_path, capsys):
    script = runpy.run_path(str(REPO / "scripts" / "make_demo_clips.py"), run_name="make_demo_clips")
    script["main"](["--out", str(tmp_path)])
    assert "help_up_from_floor" in capsys.readouterr().out
    for file_name in FILES:
        assert _max_position_error(read_clips(tmp_path / file_name), read_clips(DEMO / file_name)) < 1e-6


def test_clip_list_durations_and_persons(generated):
    assert [c.name for c in generated["assist.pkl"]] == ["help_up_from_floor", "support_rise_from_chair"]
    assert [c.name for c in generated["single.pkl"]] == ["stand", "step", "sit_down_stand_up"]
    for file_name, group in generated.items():
        for clip in group:
            assert clip.fps == 30.0 and clip.skeleton == "smpl"
            assert 3.0 <= clip.duration <= 8.0, clip.name
            assert len(clip.persons) == (2 if file_name == "assist.pkl" else 1)
    furniture = {c.name: c.furniture for c in generated["assist.pkl"] + generated["single.pkl"]}
    for name, items in furniture.items():
        assert [item.kind for item in items] == (["chair"] if "chair" in name or "sit" in name else []), name
    for name in ("support_rise_from_chair", "sit_down_stand_up"):  # the standard chair's footprint, a 0.41 m seat
        assert furniture[name][0].size == pytest.approx((0.4445, 0.508, 0.414), abs=1e-3)


def test_soles_on_the_floor_when_standing_and_never_below(clips, positions):
    for clip in clips:
        for i, pos in enumerate(positions[clip.name]):
            lowest = lowest_point(pos, SKELETON)  # soles, and the surface of the rest
            assert lowest.min() > -0.015, (clip.name, i)  # the recipient lying on the floor rests 1.1 cm into it
            standing = pos[:, 0, 2] > 0.8
            assert standing[-10:].all(), (clip.name, i)  # every clip ends standing
            assert np.abs(lowest[standing]).max() < 0.02, (clip.name, i)
            assert np.abs(lowest[:10]).max() < 0.02, (clip.name, i)  # feet flat, also when seated


def test_planted_feet_do_not_slide(clips, positions):
    for clip in clips:
        for pos in positions[clip.name]:
            for side in "LR":
                ankle = pos[:, SKELETON.index(f"{side}_Ankle")]
                down = np.abs(ankle[:, 2] - ankle_height(SKELETON, side)) < 0.005
                planted = down[1:] & down[:-1]
                speed = np.linalg.norm(np.diff(ankle[:, :2], axis=0), axis=-1) * clip.fps
                assert planted.sum() > 0.5 * len(planted), clip.name
                assert speed[planted].max() < 0.05, (clip.name, side)


def test_feet_step_forward_in_step(positions):
    pos = positions["step"][0]
    for side in "LR":
        ankle = pos[:, SKELETON.index(f"{side}_Ankle")]
        assert ankle[-1, 0] - ankle[0, 0] > 0.9
        assert ankle[:, 2].max() > ankle_height(SKELETON, side) + 0.04  # the foot lifts to swing


def test_two_persons_touch_without_interpenetrating(generated, positions):
    for clip in generated["assist.pkl"]:
        gaps = surface_gaps(clip, positions[clip.name])
        assert gaps.min() >= -0.03, clip.name
        contact = hand_contact(clip, gaps)
        pelvis = positions[clip.name][1][:, 0, 2]
        start, end = pelvis[0], pelvis[-1]
        lifting = (pelvis > start + 0.05) & (pelvis < end - 0.05)
        first, last = np.flatnonzero(lifting)[[0, -1]]
        assert contact[first:last + 1].all(), clip.name  # hands on the recipient through the whole lift
        for side in "LR":  # and each of the supporter's hands on its own
            hand = np.isin(CapsuleModel.of(SKELETON).body, SKELETON.indices(SKELETON.hand_body_names(side)))
            assert (gaps[first:last + 1, hand] < HAND_CONTACT_GAP).any(axis=(1, 2)).all(), (clip.name, side)
        run = np.flatnonzero(contact)
        assert run[-1] - run[0] + 1 == contact.sum() and contact.sum() >= clip.fps, clip.name  # one stretch >= 1 s
        stats = clip_stats(clip)
        assert stats.min_person_gap_m >= -0.03 and stats.hand_contact_frames == contact.sum()


def test_supporter_hands_hold_the_forearms_from_the_side_that_lifts(generated, positions):
    """While the recipient rises, each supporter hand that holds a forearm is on the side that lets it lift: in
    help-up on top (the grip closes around the forearm and pulls along the arm and up; a palm underneath pressed
    the forearm down onto itself to pull, measured), in the chair clip underneath (the palm pushes the arm up).
    The middle of the hand at least 1 cm above or below the forearm point it holds."""
    held = {"help_up_from_floor": ((("R", "L"), ("L", "R")), +1), "support_rise_from_chair": ((("R", "R"),), -1)}
    for clip in generated["assist.pkl"]:
        supporter, recipient = positions[clip.name]
        pelvis = recipient[:, 0, 2]
        lifting = (pelvis > pelvis[0] + 0.05) & (pelvis < pelvis[-1] - 0.05)
        pairs, side = held[clip.name]
        for s_side, r_side in pairs:
            wrist, elbow = (recipient[lifting, SKELETON.index(f"{r_side}_{j}")] for j in ("Wrist", "Elbow"))
            along = (elbow - wrist) / np.linalg.norm(elbow - wrist, axis=-1, keepdims=True)
            forearm = wrist + 0.06 * along
            hand = supporter[lifting][:, SKELETON.indices([f"{s_side}_Wrist", f"{s_side}_Hand"])].mean(axis=1)
            assert (side * (hand[:, 2] - forearm[:, 2]) > 0.01).all(), (clip.name, s_side)


def test_recipient_rises(generated, positions):
    for clip in generated["assist.pkl"]:
        pelvis = positions[clip.name][1][:, 0, 2]
        assert pelvis[:10].max() <= SEATED_PELVIS_MAX[clip.name], clip.name
        assert pelvis[-1] >= 0.85, clip.name
        head = positions[clip.name][1][-1, SKELETON.index("Head"), 2]
        assert head - pelvis[-1] > 0.4  # upright at the end


def test_seated_on_the_chair_seat(generated, positions):
    """While seated the pelvis and thigh capsules rest on the clip's chair: on its top (not above, not sunk in),
    the hips and the thighs' middle over its footprint, the knees in front of it."""
    seated = {"support_rise_from_chair": (1, slice(0, 36)), "sit_down_stand_up": (0, slice(80, 98))}
    clips = {c.name: c for group in generated.values() for c in group}
    for name, (person, frames) in seated.items():
        chair = clips[name].furniture[0]
        front = np.array(chair.pos) + [chair.size[0] / 2, 0.0]  # the chair faces +x (yaw 0)
        underside = seat_underside(clips[name].persons[person], SKELETON, front, chair.yaw)[frames]
        assert underside.min() >= chair.size[2] - 1e-4 and underside.max() < chair.size[2] + 0.005, name
        pos = positions[name][person][frames]
        hips, knees = (pos[:, SKELETON.indices([f"L_{j}", f"R_{j}"])] for j in ("Hip", "Knee"))
        for points, inside in ((hips, True), ((hips + knees) / 2, True), (knees, False)):
            local = points[..., :2] - np.array(chair.pos)  # the chair's yaw is 0
            within = (np.abs(local) < np.array(chair.size[:2]) / 2).all(axis=-1)
            assert within.all() if inside else not within.any(), name


def test_motion_is_smooth(clips, positions):
    for clip in clips:
        for person, pos in zip(clip.persons, positions[clip.name]):
            velocity = np.diff(pos, axis=0) * clip.fps
            acceleration = np.diff(velocity, axis=0) * clip.fps
            assert np.linalg.norm(velocity, axis=-1).max() < 4.0, clip.name
            assert np.linalg.norm(acceleration, axis=-1).max() < 30.0, clip.name
            frames = person.joint_rot.shape[0]
            step = wxyz_to_rotations(person.joint_rot[:-1]).inv() * wxyz_to_rotations(person.joint_rot[1:])
            assert step.magnitude().reshape(frames - 1, -1).max() * clip.fps < 10.0, clip.name  # rad/s
