"""Per-clip furniture: records and their checks, the PHC pickle, mirroring, the scene's slots, each world of a
batch furnished for its own clip (a seated recipient rests on its chair, one without a chair falls), and the
evaluation and render stages taking a clip's furniture without `scene=chair`."""

from __future__ import annotations

import dataclasses

import joblib
import numpy as np
import pytest
import torch

from assistmimic.envs.assist import AssistEnv
from assistmimic.envs.config import AssistEnvConfig
from assistmimic.evaluation import EvalWorld, tracking_eval_env
from assistmimic.mjcf.config import FurnitureConfig, ImpairmentConfig, SceneConfig
from assistmimic.mjcf.furniture import PARK_DEPTH, FurnitureSlot, furniture_slots, scene_furniture
from assistmimic.sim.config import SimConfig
from assistmimic.viz.render import RenderingUnavailable, open_gl_context
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.families.transforms import mirror
from motion_lib.formats.common import body_positions
from motion_lib.formats.phc import read_clips, write_clips
from motion_lib.furniture import Furniture, read_furniture
from motion_lib.motion_library import MotionLibrary
from motion_lib.seats import SEAT_EDGE_AHEAD, seat_from_motion
from motion_lib.skeleton import get_skeleton
from tests import test_reader_hhi as hhi_tests
from tests.conftest import REPO, build_backend, robot_config, standard_impairment
from tests.test_motion_library import person

CHAIR = Furniture("chair", (0.5, -0.25), 30.0, (0.4445, 0.508, 0.41))
BED = Furniture("bed", (-1.0, 2.0), 90.0, (1.905, 0.9906, 0.42))
SECONDS = 30  # policy steps in one second


def demo(name: str) -> Clip:
    """A built-in demo clip by name."""
    file = "single.pkl" if name in ("stand", "step", "sit_down_stand_up") else "assist.pkl"
    return next(c for c in read_clips(REPO / "data" / "demo" / file) if c.name == name)


# --- the record ----------------------------------------------------------------------------------
def test_records_round_trip_and_bad_ones_are_one_error():
    assert read_furniture([CHAIR.record(), BED.record()], "here") == [CHAIR, BED]
    bad = [
        ("a chair", r"here: furniture must be a list of items, got 'a chair'"),
        ([{"kind": "chair"}], r"here, furniture\[0\]: must be a record with keys kind, pos, yaw, size, got \['kind'\]"),
        ([{**CHAIR.record(), "colour": "red"}], r"must be a record with keys kind, pos, yaw, size"),
        ([{**CHAIR.record(), "kind": "sofa"}], r"furniture\[0\]: unknown kind 'sofa'; furniture kinds: chair, bed, box"),
        ([{**CHAIR.record(), "pos": [0.0, 0.0, 0.0]}], r"furniture\[0\]: pos has shape \(3,\), expected \(2\)"),
        ([{**CHAIR.record(), "yaw": float("nan")}], r"furniture\[0\]: yaw has NaN/inf"),
        ([{**CHAIR.record(), "size": [0.4, 0.5, 0.0]}], r"furniture\[0\]: size must be three positive extents"),
        ([CHAIR.record()] * 9, r"here: furniture holds 9 items; a clip holds at most 8"),
    ]
    for value, message in bad:
        with pytest.raises(UserInputError, match=message):
            read_furniture(value, "here")


def test_a_clip_with_bad_furniture_does_not_validate():
    clip = Clip("sit", 30.0, "smpl", [person(10)], furniture=[dataclasses.replace(CHAIR, size=(0.4, 0.5, -0.4))])
    with pytest.raises(UserInputError, match=r"clip 'sit', furniture\[0\]: size must be three positive extents"):
        clip.validate()
    with pytest.raises(UserInputError, match=r"clip 'sit': furniture must be a list of Furniture items"):
        Clip("sit", 30.0, "smpl", [person(10)], furniture=[CHAIR.record()]).validate()


def test_the_phc_pickle_round_trips_the_furniture(tmp_path):
    pair = Clip("pair", 30.0, "smpl", [person(12, 0), person(12, 1)], furniture=[CHAIR, BED])
    alone = Clip("alone", 30.0, "smpl", [person(12, 2)])
    write_clips(tmp_path / "clips.pkl", [pair, alone])
    entries = joblib.load(tmp_path / "clips.pkl")
    assert entries["pair_caregiver"]["furniture"] == [CHAIR.record(), BED.record()]  # plain data beside PHC's keys
    read = {clip.name: clip for clip in read_clips(tmp_path / "clips.pkl")}
    assert read["pair"].furniture == [CHAIR, BED] and read["alone"].furniture == []
    entries["alone"]["furniture"] = [{**CHAIR.record(), "size": [1.0, 1.0, 1e9]}]
    joblib.dump(entries, tmp_path / "bad.pkl")
    with pytest.raises(UserInputError, match=r"bad.pkl \['alone'\], furniture\[0\]: size .*1e\+09 m"):
        read_clips(tmp_path / "bad.pkl")


def test_mirroring_a_clip_mirrors_its_furniture():
    clip = Clip("sit", 30.0, "smpl", [person(10)], furniture=[CHAIR])
    mirrored = mirror(clip)
    assert mirrored.furniture == [Furniture("chair", (0.5, 0.25), -30.0, CHAIR.size)]
    assert mirror(mirrored).furniture == [CHAIR]


def test_a_seat_is_placed_under_a_sitting_person_only():
    skeleton = get_skeleton("smpl")
    (chair,), reason = seat_from_motion(demo("sit_down_stand_up").persons[0], skeleton, "chair")
    assert reason == "" and chair == demo("sit_down_stand_up").furniture[0]
    assert seat_from_motion(demo("stand").persons[0], skeleton, "bed") == (
        [], "the bed is not placed: the person on it never sits (at its lowest, its pelvis is 0.47 m above the "
            "thighs' underside)")
    items, reason = seat_from_motion(demo("help_up_from_floor").persons[1], skeleton, "chair")
    assert items == [] and "sits lowest at 0.01 m, not on a seat 0.25-0.8 m high" in reason


def _hhi_take(root, take: str, receiver_seated: bool, receiver_lying: bool = False) -> None:
    """A synthetic HHI-Assist take (`tests/test_reader_hhi.py`'s standing pair), the care receiver seated if asked
    (hips lowered, thighs forward, shins down) or lying on its back with its hips 0.55 m up."""
    folder = root / "AA-RM"
    folder.mkdir(parents=True, exist_ok=True)
    for tag, person in (("CG", hhi_tests.CAREGIVER), ("CR", hhi_tests.RECEIVER)):
        text, order, values = hhi_tests._person(**person)
        if tag == "CR" and receiver_seated:
            column = dict(zip(order, np.cumsum([0] + [6 if n == "Hips" else 3 for n in order[:-1]])))
            values[:, 1] = person["leg"] + 16  # hips at knee height (cm)
            for side in ("Left", "Right"):  # channels Z, X, Y rotation: thigh forward, shin down
                values[:, column[f"{side}UpLeg"] + 1], values[:, column[f"{side}Leg"] + 1] = -90.0, 90.0
        if tag == "CR" and receiver_lying:
            values[:, 1], values[:, 4] = 55.0, -90.0  # hips 55 cm up, the body turned about x onto its back
        (folder / f"{take}_{tag}.bvh").write_text("HIERARCHY\n" + text + "\n" + hhi_tests._motion_text(values))


def test_hhi_chair_takes_get_a_chair_under_the_seated_care_receiver(tmp_path):
    _hhi_take(tmp_path / "seated", "AACG_RMCR_ChairAssist_Take1", receiver_seated=True)
    clip = hhi_tests.load_only(tmp_path / "seated")
    (chair,) = clip.furniture
    pelvis = clip.persons[1].root_pos.mean(axis=0)
    assert chair.kind == "chair" and chair.yaw == pytest.approx(90.0)  # the receiver faces +y
    assert chair.size[2] == pytest.approx(pelvis[2] - 0.167, abs=0.01)  # the thighs' underside (radius 0.07)
    np.testing.assert_allclose(chair.pos, [pelvis[0], pelvis[1] + SEAT_EDGE_AHEAD - chair.size[0] / 2], atol=1e-3)
    _hhi_take(tmp_path / "standing", "AACG_RMCR_ChairAssist_Take1", receiver_seated=False)
    standing = hhi_tests.load_only(tmp_path / "standing")
    assert standing.furniture == [] and "the chair is not placed: the person on it never sits" in \
        standing.source["furniture_unplaced"]


# --- slots -----------------------------------------------------------------------------------------
def test_slots_hold_every_clips_furniture_lower_items_sink_and_unused_slots_park():
    low = dataclasses.replace(CHAIR, size=(0.4445, 0.508, 0.35))
    slots = furniture_slots([[CHAIR], [low, low], [BED], []])
    assert slots == (FurnitureSlot("bed", BED.size), FurnitureSlot("chair", CHAIR.size), FurnitureSlot("chair", CHAIR.size))
    furniture = scene_furniture([], [[CHAIR], [low, low], [BED], []])
    poses = furniture.poses([low], "clip 'low'")
    np.testing.assert_allclose(poses[1], [*low.pos, 0.35 - 0.41 / 2, *low.quat])  # top at 0.35 m: sunk 0.06 m
    for slot, parked in ((0, poses[0]), (2, poses[2])):
        assert parked[2] + slots[slot].size[2] / 2 == pytest.approx(-PARK_DEPTH)  # its top 2 m under the floor
    wide = dataclasses.replace(CHAIR, size=(0.6, 0.6, 0.4))
    with pytest.raises(UserInputError, match=r"clip 'wide' needs a chair of 0.6 x 0.6 x 0.4 m, but the scene has no free "
                                             r"furniture slot for it \(bed 1.905 x 0.9906 m up to 0.42 m, chair .*\); "
                                             r"build the scene with the clips it plays: make_scene\(..., clips=clips\)"):
        furniture.poses([wide], "clip 'wide'")
    with pytest.raises(UserInputError, match=r"clip 'three' needs a chair .* \(bed .*, chair .*, chair .*\)"):
        furniture.poses([CHAIR, CHAIR, CHAIR], "clip 'three'")


def test_the_scene_groups_furniture_is_played_by_clips_without_any():
    furniture = scene_furniture([FurnitureConfig(kind="chair", pos=[0.85, 0.0])], [[CHAIR], []])
    default = furniture.default[0]
    assert default.pos == (0.85, 0.0) and default.size == (0.4445, 0.508, 0.4318)
    np.testing.assert_allclose(furniture.poses([], "clip 'open'")[0, :2], [0.85, 0.0])
    np.testing.assert_allclose(furniture.poses([CHAIR], "clip 'sit'")[0, :2], CHAIR.pos)  # its own chair only


# --- each world gets its clip's furniture -----------------------------------------------------------
@pytest.mark.parametrize("sync_free", [True, False], ids=["masked", "by-id"])
def test_a_seated_recipient_rests_on_its_chair_and_falls_in_the_world_without_it(sync_free):
    """A batch of the chair clip and the same motion without its chair, from the seated first frame with zero
    actions (PD targets at the reference): the pelvis stays on the seat for 1 s where the chair is, and falls
    to the floor where it is not (physics, not bookkeeping)."""
    with_chair = demo("support_rise_from_chair")
    without = dataclasses.replace(with_chair, name="no_chair", furniture=[])
    clips = [without, with_chair, without]
    env = AssistEnv(build_backend(3, impairment=standard_impairment(), clips=clips), MotionLibrary(clips),
                    AssistEnvConfig(residual_actions=True, early_termination=False, random_start=False,
                                    sync_free_resets=sync_free), torch.Generator().manual_seed(0))
    env.start_clips(torch.tensor([0, 1, 0]))
    seat = with_chair.furniture[0].size[2]
    lowest = torch.full((3,), np.inf)
    for _ in range(SECONDS):
        env.step([torch.zeros(3, d) for d in env.action_dims])
        lowest = torch.minimum(lowest, env.backend.body_state().pos[:, 1, 0, 2])
    assert lowest[1] > seat + 0.12, lowest  # the pelvis joint 0.18 m above the seat while seated
    assert (lowest[[0, 2]] < seat).all(), lowest
    env.close()


def test_furnishing_the_worlds_of_sync_free_steps_never_waits_for_the_host():
    """Warp (on its CPU device) with masked resets: steps that reset worlds to the chair clip and to the clip without
    a chair make no host sync, and each world ends up with its clip's furniture."""
    pytest.importorskip("mujoco_warp", reason="mujoco_warp is not installed (pip install -e \".[gpu]\")")
    from tests.test_sync_free_steps import count_syncs

    clips = [demo("help_up_from_floor"), demo("support_rise_from_chair")]
    backend = build_backend(4, impairment=standard_impairment(), clips=clips, backend="warp", device="cpu",
                            solver="Newton")
    env = AssistEnv(backend, MotionLibrary(clips), AssistEnvConfig(residual_actions=True, max_episode_steps=2,
                                                                   sync_free_resets=True),
                    torch.Generator().manual_seed(0))
    env.reset()
    actions = [torch.zeros(4, d) for d in env.action_dims]
    assert count_syncs(lambda: [env.step(actions) for _ in range(4)]).count == 0  # every world reset twice
    placed = backend._mocap_pos[:, backend._furniture, :2]  # (E, 1, 2): each world's chair slot
    expected = env.furniture.poses[env.clip_ids, :, :2]
    torch.testing.assert_close(placed, expected)
    assert set(env.clip_ids.tolist()) == {0, 1}  # both kinds of world were reset to
    env.close()


def test_evaluation_of_the_demo_chair_clip_brings_its_chair_without_scene_chair():
    clip = demo("sit_down_stand_up")
    world = EvalWorld(robot=robot_config(), scene=SceneConfig(), sim=SimConfig(nthread=1), impairment=ImpairmentConfig(),
                      seed=0)
    env = tracking_eval_env(world, {}, [demo("stand"), clip], 2)
    (slot,) = env.backend.furniture.slots
    assert slot.kind == "chair" and slot.size == clip.furniture[0].size
    np.testing.assert_allclose(env.furniture.poses[1, 0].numpy(), [*clip.furniture[0].pos, slot.size[2] / 2, 1, 0, 0, 0],
                               atol=1e-6)
    assert env.furniture.poses[0, 0, 2] < -PARK_DEPTH  # the standing clip's world has it parked
    env.close()


# --- the renderer draws it ---------------------------------------------------------------------------
def brown(frames: np.ndarray) -> np.ndarray:
    """Pixels of the furniture's colour (0.55, 0.45, 0.35), lit or shaded."""
    f = frames.astype(int)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    return (r > g + 5) & (r < g + 45) & (g > b + 10) & (r > b + 30)


def test_the_render_of_the_chair_clip_draws_its_chair(tmp_path):
    try:
        open_gl_context(16, 16).free()
    except RenderingUnavailable as err:
        pytest.skip(f"no offscreen OpenGL here: {err}")
    import imageio.v3 as iio

    from tests.test_render import render

    pixels = {}
    for name in ("sit_down_stand_up", "stand"):
        summary = render(tmp_path / name, data=REPO / "data" / "demo" / "single.pkl", clip=name, max_seconds=0.2,
                         width=128, height=96)
        pixels[name] = brown(iio.imread(summary["video"])).sum(axis=(1, 2))
    assert pixels["sit_down_stand_up"].min() > 40 and pixels["stand"].max() < 10, pixels


def test_hhi_bed_takes_get_a_bed_along_the_lying_care_receiver(tmp_path):
    _hhi_take(tmp_path / "lying", "AACG_RMCR_BedAssist_Take1", receiver_seated=False, receiver_lying=True)
    clip = hhi_tests.load_only(tmp_path / "lying")
    (bed,) = clip.furniture
    skeleton = get_skeleton("smpl")
    pos = body_positions(clip.persons[1], skeleton)[0]  # the receiver's bodies in the first frame
    along = pos[skeleton.index("Head"), :2] - pos[0, :2]
    assert bed.kind == "bed" and 0.3 < bed.size[2] < pos[0, 2]
    assert abs(np.degrees(np.arctan2(along[1], along[0])) - bed.yaw) < 1.0  # lengthwise along the body
    assert "furniture_unplaced" not in clip.source
