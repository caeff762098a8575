"""The two-person MJCF scene (assistmimic/mjcf/scene.py) and bad input from the config groups.

Covers furniture, unknown robots, impairment rules, both skeletons, the collision switches and
the sensors; every mistake a user can make in a config must end in a `UserInputError`.
"""

from __future__ import annotations

import functools
import math

import mujoco
import numpy as np
import pytest

from assistmimic.mjcf.config import (
    AgentPhysicsConfig,
    FurnitureConfig,
    ImpairmentConfig,
    JointGroupRule,
    RobotConfig,
    SceneConfig,
)
from assistmimic.mjcf.furniture import PARK_DEPTH
from assistmimic.mjcf.scene import AGENT_BITS, WORLD_BIT
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_scene
from motion_lib.errors import UserInputError
from motion_lib.furniture import DEFAULT_SIZES
from motion_lib.skeleton import LOWER_BODY_GROUPS, get_skeleton
from tests.conftest import robot_config, standard_impairment

SUP, REC = "sup_", "rec_"


# --- helpers -------------------------------------------------------------------------------------


def scene_of(robot="smpl", scene=None, impairment=None):
    return make_scene(robot_config(robot), scene or SceneConfig(), SimConfig(), impairment or ImpairmentConfig())


def compile_scene(scene_model) -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_string(scene_model.xml)


@functools.cache
def compiled(robot="smpl", impaired=False):
    """(SceneModel, MjModel) of the default scene, cached across tests (read-only use)."""
    scene_model = scene_of(robot, impairment=standard_impairment() if impaired else None)
    return scene_model, compile_scene(scene_model)


def names(model, obj, count) -> list[str]:
    return [mujoco.mj_id2name(model, obj, i) for i in range(count)]


def body_names(model) -> list[str]:
    return names(model, mujoco.mjtObj.mjOBJ_BODY, model.nbody)


def actuator_names(model) -> list[str]:
    return names(model, mujoco.mjtObj.mjOBJ_ACTUATOR, model.nu)


def person_mass(model, prefix) -> float:
    return float(sum(model.body_mass[i] for i, n in enumerate(body_names(model)) if n.startswith(prefix)))


def geom_id(model, name) -> int:
    gid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name)
    assert gid >= 0, f"no geom {name}"
    return gid


def person_geoms(model, prefix) -> list[int]:
    """The geoms of a person's body, less the palms of its grip (tests/test_grip.py)."""
    bodies = body_names(model)
    return [g for g in range(model.ngeom)
            if bodies[model.geom_bodyid[g]].startswith(prefix) and not bodies[model.geom_bodyid[g]].endswith("_grip")]


# --- furniture ----------------------------------------------------------------------------------


def test_chair_and_bed_stand_on_the_floor_in_mocap_slots():
    scene = SceneConfig(furniture=[
        FurnitureConfig(kind="chair", pos=[1.0, 0.0]),
        FurnitureConfig(kind="bed", pos=[0.0, 2.0], yaw=90.0),
    ])
    model = compile_scene(scene_of(scene=scene))
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    for name, kind, pos, yaw in (("furniture1_chair", "chair", (1.0, 0.0), 0.0),
                                 ("furniture0_bed", "bed", (0.0, 2.0), 90.0)):  # slots in order of kind
        g = geom_id(model, name)
        full = np.array(DEFAULT_SIZES[kind])
        assert model.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX
        np.testing.assert_allclose(model.geom_size[g], full / 2, atol=1e-6)
        np.testing.assert_allclose(data.geom_xpos[g], (*pos, full[2] / 2), atol=1e-6)
        half = math.radians(yaw) / 2
        np.testing.assert_allclose(model.body_quat[model.geom_bodyid[g]], (math.cos(half), 0, 0, math.sin(half)), atol=1e-6)
        assert model.body_mocapid[model.geom_bodyid[g]] >= 0  # a mocap body: each world places its own
        assert model.geom_contype[g] == WORLD_BIT and model.geom_conaffinity[g] == 0


def test_box_with_explicit_size():
    scene = SceneConfig(furniture=[FurnitureConfig(kind="box", pos=[-2.0, 1.5], size=[0.5, 0.6, 0.7])])
    model = compile_scene(scene_of(scene=scene))
    g = geom_id(model, "furniture0_box")
    np.testing.assert_allclose(model.geom_size[g], (0.25, 0.3, 0.35), atol=1e-6)
    np.testing.assert_allclose(model.body_pos[model.geom_bodyid[g]], (-2.0, 1.5, 0.35), atol=1e-6)


def test_explicit_size_overrides_kind_default():
    scene = SceneConfig(furniture=[FurnitureConfig(kind="chair", size=[0.4, 0.4, 0.9])])
    model = compile_scene(scene_of(scene=scene))
    np.testing.assert_allclose(model.geom_size[geom_id(model, "furniture0_chair")], (0.2, 0.2, 0.45), atol=1e-6)


def test_the_open_scene_has_no_furniture_slots():
    model = compiled()[1]
    assert model.nmocap == 0 and compiled()[0].furniture.slots == ()
    assert PARK_DEPTH > 1.0  # parked slots sit out of every person's reach


@pytest.mark.parametrize("furniture, message", [
    (FurnitureConfig(kind="sofa"), r"furniture\[0\]: unknown kind 'sofa'; furniture kinds: chair, bed, box"),
    (FurnitureConfig(kind="sofa", size=[1.0, 1.0, 1.0]), r"unknown kind 'sofa'"),
    (FurnitureConfig(kind="box"), r"furniture\[0\] \(box\): give its size: \[x, y, z\] in metres \(only chair, bed have one\)"),
    (FurnitureConfig(kind="box", size=[1.0, 1.0]), r"furniture\[0\] \(box\): size has shape \(2,\), expected \(3\)"),
    (FurnitureConfig(kind="box", size=[1.0, -0.5, 1.0]), r"furniture\[0\] \(box\): size must be three positive extents"),
    (FurnitureConfig(kind="chair", size=[0.5, 0.0, 0.5]), r"size must be three positive extents"),
    (FurnitureConfig(kind="chair", pos=[1.0, 0.0, 0.0]), r"furniture\[0\] \(chair\): pos must be \[x, y\] on the floor"),
])
def test_bad_furniture(furniture, message):
    with pytest.raises(UserInputError, match=message):
        scene_of(scene=SceneConfig(furniture=[furniture]))


def test_bad_furniture_names_its_index():
    scene = SceneConfig(furniture=[FurnitureConfig(kind="chair"), FurnitureConfig(kind="bed", pos=[0.0])])
    with pytest.raises(UserInputError, match=r"furniture\[1\] \(bed\): pos must be \[x, y\]"):
        scene_of(scene=scene)


# --- robots -------------------------------------------------------------------------------------


def test_unknown_robot_name():
    with pytest.raises(UserInputError, match=r"unknown robot 'robot9'; known robots: smpl, smplx"):
        get_skeleton("robot9")
    with pytest.raises(UserInputError, match=r"unknown robot 'robot9'.*smpl, smplx"):
        make_scene(RobotConfig(name="robot9", pd_gains=dict(robot_config().pd_gains)), SceneConfig(), SimConfig(),
                   ImpairmentConfig())


@pytest.mark.parametrize("robot, num_bodies, num_dofs", [("smpl", 24, 69), ("smplx", 52, 153)])
def test_both_robots(robot, num_bodies, num_dofs):
    scene_model, model = compiled(robot)
    skeleton = scene_model.skeleton
    assert (skeleton.num_bodies, skeleton.num_dofs) == (num_bodies, num_dofs)
    assert model.nu == 2 * num_dofs + 2  # PD actuators and the supporter's two grips (tests/test_grip.py)
    bodies = [n for n in body_names(model) if not n.endswith("_grip")]  # less the supporter's two palms
    for prefix in (SUP, REC):
        person = [n for n in bodies if n.startswith(prefix)]
        assert person == [prefix + n for n in skeleton.body_names]
        assert sum(n.startswith(prefix) and "_grip_" not in n for n in actuator_names(model)) == num_dofs
    assert len(bodies) == 1 + 2 * num_bodies  # the world body and two persons
    assert model.njnt == 2 * (1 + 3 * (num_bodies - 1))  # a free joint and three hinges per body


def test_missing_pd_gains_group():
    gains = dict(robot_config().pd_gains)
    del gains["knee"]
    with pytest.raises(UserInputError, match=r"robot.pd_gains has no \[kp, kd\] for joint group\(s\) knee"):
        make_scene(RobotConfig(name="smpl", pd_gains=gains), SceneConfig(), SimConfig(), ImpairmentConfig())


# --- impairment ---------------------------------------------------------------------------------


def test_unknown_joint_group_in_rule():
    impairment = ImpairmentConfig(recipient=AgentPhysicsConfig(rules=[JointGroupRule(groups=["lower"]),
                                                                      JointGroupRule(groups=["tail"])]))
    with pytest.raises(UserInputError, match=r"impairment rule 1: unknown joint group 'tail'; known: lower, upper, .*knee"):
        scene_of(impairment=impairment)


def test_finger_group_is_unknown_for_smpl():
    impairment = ImpairmentConfig(supporter=AgentPhysicsConfig(rules=[JointGroupRule(groups=["finger"])]))
    with pytest.raises(UserInputError, match=r"unknown joint group 'finger'"):
        scene_of("smpl", impairment=impairment)


@pytest.mark.parametrize("mass_scale", [0.0, -0.5])
@pytest.mark.parametrize("role", ["supporter", "recipient"])
def test_non_positive_mass_scale(role, mass_scale):
    impairment = ImpairmentConfig(**{role: AgentPhysicsConfig(mass_scale=mass_scale)})
    with pytest.raises(UserInputError, match=rf"impairment.{role}.mass_scale must be positive"):
        scene_of(impairment=impairment)


def test_non_positive_effort_limit_in_rule():
    impairment = ImpairmentConfig(recipient=AgentPhysicsConfig(rules=[JointGroupRule(["knee"], effort_limit=0.0)]))
    with pytest.raises(UserInputError, match=r"impairment rule 0: effort_limit must be positive"):
        scene_of(impairment=impairment)


def test_standard_impairment_weakens_the_recipients_legs():
    scene_model, model = compiled("smpl", impaired=True)
    skeleton = scene_model.skeleton
    acts = actuator_names(model)
    kp, kv = model.actuator_gainprm[:, 0], -model.actuator_biasprm[:, 2]
    force = model.actuator_forcerange
    lower = upper = 0
    for b, (name, group) in enumerate(zip(skeleton.body_names, skeleton.groups)):
        if b == 0:
            continue
        for axis in "xyz":
            s, r = acts.index(f"{SUP}{name}_{axis}"), acts.index(f"{REC}{name}_{axis}")
            assert model.actuator_forcelimited[s] and model.actuator_forcelimited[r]
            np.testing.assert_allclose(force[s], (-500.0, 500.0))
            assert kp[s] == pytest.approx(robot_config().pd_gains[group][0])
            assert kv[s] == pytest.approx(robot_config().pd_gains[group][1])
            if group in LOWER_BODY_GROUPS:
                lower += 1
                assert kp[r] == pytest.approx(0.5 * kp[s])
                assert kv[r] == pytest.approx(0.5 * kv[s])
                np.testing.assert_allclose(force[r], (-80.0, 80.0))
            else:
                upper += 1
                assert kp[r] == kp[s] and kv[r] == kv[s]
                np.testing.assert_array_equal(force[r], force[s])
    assert lower == 3 * 8  # hips, knees, ankles, toes on both sides
    assert upper == 3 * 15


def test_standard_impairment_lightens_the_recipient():
    _, model = compiled("smpl", impaired=True)
    supporter, recipient = person_mass(model, SUP), person_mass(model, REC)
    assert supporter == pytest.approx(70.0, rel=0.01)
    assert recipient == pytest.approx(0.7 * supporter, rel=1e-4)


def test_unimpaired_persons_are_equal():
    _, model = compiled("smpl")
    assert person_mass(model, REC) == pytest.approx(person_mass(model, SUP), rel=1e-6)
    pd = [i for i, name in enumerate(actuator_names(model)) if "_grip_" not in name]  # less the supporter's grips
    half = len(pd) // 2
    np.testing.assert_array_equal(model.actuator_gainprm[pd[:half]], model.actuator_gainprm[pd[half:]])
    np.testing.assert_array_equal(model.actuator_forcerange[pd[:half]], model.actuator_forcerange[pd[half:]])


def test_later_rule_wins_and_upper_shorthand():
    impairment = ImpairmentConfig(recipient=AgentPhysicsConfig(rules=[
        JointGroupRule(groups=["upper"], kp_scale=0.25),
        JointGroupRule(groups=["knee"], effort_limit=40.0),
        JointGroupRule(groups=["knee"], effort_limit=60.0),
    ]))
    scene_model = scene_of(impairment=impairment)
    model = compile_scene(scene_model)
    acts = actuator_names(model)
    kp = model.actuator_gainprm[:, 0]
    for axis in "xyz":
        np.testing.assert_allclose(model.actuator_forcerange[acts.index(f"{REC}L_Knee_{axis}")], (-60.0, 60.0))
        assert kp[acts.index(f"{REC}L_Knee_{axis}")] == kp[acts.index(f"{SUP}L_Knee_{axis}")]
        assert kp[acts.index(f"{REC}L_Elbow_{axis}")] == pytest.approx(0.25 * kp[acts.index(f"{SUP}L_Elbow_{axis}")])


# --- collision switches -------------------------------------------------------------------------


def test_default_collision_bits():
    _, model = compiled("smpl")
    for prefix, own, partner in ((SUP, AGENT_BITS[0], AGENT_BITS[1]), (REC, AGENT_BITS[1], AGENT_BITS[0])):
        geoms = person_geoms(model, prefix)
        assert geoms
        for g in geoms:
            assert model.geom_contype[g] == own
            assert model.geom_conaffinity[g] == WORLD_BIT | partner  # no self collision by default
    assert model.nexclude == 0


def test_self_collision_adds_excludes():
    model = compile_scene(scene_of(scene=SceneConfig(self_collision=True)))
    assert model.nexclude > 0
    for prefix, own in ((SUP, AGENT_BITS[0]), (REC, AGENT_BITS[1])):
        assert all(model.geom_conaffinity[g] & own for g in person_geoms(model, prefix))
    # Excluded pairs stay within one person.
    bodies = body_names(model)
    for signature in model.exclude_signature:
        b1, b2 = int(signature) >> 16, int(signature) & 0xFFFF
        assert bodies[b1][:4] == bodies[b2][:4]


def test_no_partner_collision():
    model = compile_scene(scene_of(scene=SceneConfig(partner_collision=False)))
    sup_geoms, rec_geoms = person_geoms(model, SUP), person_geoms(model, REC)
    assert sup_geoms and rec_geoms
    for g in sup_geoms:
        assert model.geom_conaffinity[g] & 4 == 0
        assert model.geom_conaffinity[g] & WORLD_BIT
    for g in rec_geoms:
        assert model.geom_conaffinity[g] & 2 == 0
        assert model.geom_conaffinity[g] & WORLD_BIT


# --- sensors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("robot", ["smpl", "smplx"])
def test_contact_sensors(robot):
    scene_model, model = compiled(robot)
    skeleton = scene_model.skeleton
    assert scene_model.hand_bodies == skeleton.hand_body_names("L") + skeleton.hand_body_names("R")
    assert scene_model.foot_bodies == ("L_Ankle", "L_Toe", "R_Ankle", "R_Toe")
    assert "L_Wrist" in scene_model.hand_bodies and "R_Wrist" in scene_model.hand_bodies
    for prefix in (SUP, REC):
        for kind, bodies in (("hand", scene_model.hand_bodies), ("foot", scene_model.foot_bodies)):
            for body in bodies:
                sid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, f"{prefix}{kind}_{body}")
                assert sid >= 0, f"no sensor {prefix}{kind}_{body}"
                assert model.sensor_type[sid] == mujoco.mjtSensor.mjSENS_CONTACT
    for name in ("sup_hand_L_Wrist", "rec_hand_R_Wrist", "sup_foot_L_Ankle", "rec_foot_R_Toe"):
        assert mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, name) >= 0
    for prefix, partner in ((SUP, REC), (REC, SUP)):  # each whole body against the partner's
        sid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, f"{prefix}partner")
        assert model.sensor_type[sid] == mujoco.mjtSensor.mjSENS_CONTACT
        assert model.sensor_objtype[sid] == mujoco.mjtObj.mjOBJ_XBODY  # subtree1, subtree2: the subtrees' roots
        assert model.sensor_reftype[sid] == mujoco.mjtObj.mjOBJ_XBODY
        assert model.sensor_objid[sid] == model.body(f"{prefix}Pelvis").id
        assert model.sensor_refid[sid] == model.body(f"{partner}Pelvis").id
    n_contact = int(np.sum(model.sensor_type == mujoco.mjtSensor.mjSENS_CONTACT))
    # and one per grip (its palm's contact: tests/test_grip.py)
    per_person = len(scene_model.hand_bodies) + len(scene_model.foot_bodies) + 1  # + the whole body against the partner
    assert n_contact == 2 * per_person + sum(scene_model.grip_dims)


@pytest.mark.parametrize("robot", ["smpl", "smplx"])
def test_actuator_force_sensors(robot):
    _, model = compiled(robot)
    for a, name in enumerate(actuator_names(model)):
        sid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, f"{name}_frc")
        assert sid >= 0, f"no sensor {name}_frc"
        assert model.sensor_type[sid] == mujoco.mjtSensor.mjSENS_ACTUATORFRC
        assert model.sensor_objid[sid] == a
    assert int(np.sum(model.sensor_type == mujoco.mjtSensor.mjSENS_ACTUATORFRC)) == model.nu
