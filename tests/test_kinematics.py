"""Forward kinematics: the torch FK, an independent scipy FK and MuJoCo agree on every body."""

import mujoco
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from motion_lib.errors import UserInputError
from motion_lib.kinematics import ForwardKinematics
from motion_lib.rotations import matrix_to_quat, quat_to_matrix
from motion_lib.skeleton import get_skeleton, smpl_skeleton, smplx_skeleton
from tests.conftest import build_backend

PHC_ORDER = (
    "Pelvis", "L_Hip", "L_Knee", "L_Ankle", "L_Toe", "R_Hip", "R_Knee", "R_Ankle", "R_Toe", "Torso", "Spine",
    "Chest", "Neck", "Head", "L_Thorax", "L_Shoulder", "L_Elbow", "L_Wrist", "L_Hand", "R_Thorax", "R_Shoulder",
    "R_Elbow", "R_Wrist", "R_Hand",
)


def scipy_fk(skeleton, root_pos, root_quat_wxyz, angles):
    """Independent reference: scipy rotations, one body at a time."""
    rots = [Rotation.from_quat(np.roll(root_quat_wxyz, -1))]
    pos = [np.asarray(root_pos)]
    for b in range(1, skeleton.num_bodies):
        p = skeleton.parents[b]
        pos.append(pos[p] + rots[p].apply(skeleton.offsets[b]))
        rots.append(rots[p] * Rotation.from_euler("XYZ", angles[b - 1]))
    return np.stack(pos), np.stack([r.as_matrix() for r in rots])


def test_skeleton_sizes_and_canonical_order():
    smpl, smplx = smpl_skeleton(), smplx_skeleton()
    assert smpl.body_names == PHC_ORDER
    assert (smpl.num_bodies, smpl.num_dofs) == (24, 69)
    assert (smplx.num_bodies, smplx.num_dofs) == (52, 153)
    assert smplx.body_names[:18] == PHC_ORDER[:18]
    assert smplx.body_names[18:21] == ("L_Index1", "L_Index2", "L_Index3")
    assert all(smpl.parents[b] < b for b in range(1, 24))
    # Offsets are the REFERENCE table converted (x, y, z)_yup -> (z, x, y)_zup: left knee below left hip.
    np.testing.assert_allclose(smpl.offsets[smpl.index("L_Knee")], (-0.0045, 0.0343, -0.3752))
    assert 0.85 < smpl.standing_root_height < 1.0
    assert smpl.rest_positions[smpl.index("Head"), 2] > 0.4  # head well above the pelvis
    assert smpl.rest_positions[smpl.index("L_Wrist"), 1] > 0.5  # left arm along +y


def test_unknown_robot_is_a_clear_error():
    with pytest.raises(UserInputError, match="unknown robot 'robot9'; known robots: smpl, smplx"):
        get_skeleton("robot9")


@pytest.mark.parametrize("robot", ["smpl", "smplx"])
def test_joint_angles_put_bodies_where_independent_fk_says(robot):
    backend = build_backend(num_envs=1, robot=robot)
    model, skeleton = backend.model, backend.skeleton
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    layout = backend.layout
    fk = ForwardKinematics(skeleton, dtype=torch.float64)
    for _ in range(3):
        root_pos = rng.normal(size=3)
        root_quat = Rotation.random(random_state=rng).as_quat()[[3, 0, 1, 2]]
        angles = rng.uniform(-1.0, 1.0, size=(skeleton.num_joints, 3))
        data.qpos[layout.qpos_root[0]] = np.concatenate([root_pos, root_quat])
        data.qpos[layout.qpos_joint[0]] = angles.reshape(-1)
        mujoco.mj_kinematics(model, data)
        ref_pos, ref_rot = scipy_fk(skeleton, root_pos, root_quat, angles)
        np.testing.assert_allclose(data.xpos[layout.body[0]], ref_pos, atol=1e-9)
        np.testing.assert_allclose(data.xmat[layout.body[0]].reshape(-1, 3, 3), ref_rot, atol=1e-9)
        pos, rot = fk.from_generalized(
            torch.tensor(np.concatenate([root_pos, root_quat]))[None], torch.tensor(angles.reshape(1, -1))
        )
        np.testing.assert_allclose(pos[0].numpy(), ref_pos, atol=1e-9)
        np.testing.assert_allclose(rot[0].numpy(), ref_rot, atol=1e-9)


def test_fk_velocities_match_mujoco():
    backend = build_backend(num_envs=1)
    model, skeleton, layout = backend.model, backend.skeleton, backend.layout
    data = mujoco.MjData(model)
    rng = np.random.default_rng(1)
    data.qpos[layout.qpos_root[0]] = np.concatenate([[0.1, 0.2, 1.0], Rotation.random(random_state=rng).as_quat()[[3, 0, 1, 2]]])
    data.qpos[layout.qpos_joint[0]] = rng.uniform(-0.8, 0.8, skeleton.num_dofs)
    data.qvel[layout.qvel_root[0]] = rng.normal(size=6)
    data.qvel[layout.qvel_joint[0]] = rng.normal(size=skeleton.num_dofs)
    mujoco.mj_forward(model, data)
    expected = np.zeros((skeleton.num_bodies, 6))
    for b, body_id in enumerate(layout.body[0]):
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_XBODY, body_id, expected[b], 0)
    fk = ForwardKinematics(skeleton, dtype=torch.float64)
    q = lambda idx, arr: torch.tensor(arr[idx])[None]
    _, _, lin, ang = fk.states_from_generalized(
        q(layout.qpos_root[0], data.qpos), q(layout.qpos_joint[0], data.qpos),
        q(layout.qvel_root[0], data.qvel), q(layout.qvel_joint[0], data.qvel),
    )
    np.testing.assert_allclose(ang[0].numpy(), expected[:, :3], atol=1e-9)
    np.testing.assert_allclose(lin[0].numpy(), expected[:, 3:], atol=1e-9)


def test_quaternion_matrix_round_trip():
    q = torch.tensor(Rotation.random(100, random_state=3).as_quat()[:, [3, 0, 1, 2]])
    q = torch.where(q[:, :1] < 0, -q, q)
    np.testing.assert_allclose(matrix_to_quat(quat_to_matrix(q)).numpy(), q.numpy(), atol=1e-9)
    np.testing.assert_allclose(
        quat_to_matrix(q).numpy(), Rotation.from_quat(q[:, [1, 2, 3, 0]].numpy()).as_matrix(), atol=1e-9
    )
