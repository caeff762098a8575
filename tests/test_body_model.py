"""Body shape from the user's own SMPL model file (motion_lib/body_model.py), read without chumpy.

The model files used here are synthetic but have the real on-disk layout of a SMPL `.pkl`: a
protocol-2 pickle of a dict whose `v_template` and `shapedirs` are chumpy `Ch` objects (emulated
by a fake `chumpy.ch` module that exists only while pickling), a `scipy.sparse` J_regressor and a
`kintree_table` whose root parent is 4294967295. The vertices sit at the SMPL neutral joints and
J_regressor is the identity, so the regressed joints are the vertices; the first shape component
scales the body about the pelvis by 10 % per unit beta.
"""

from __future__ import annotations

import importlib
import pickle
import re
import sys
import types
from pathlib import Path

import mujoco
import numpy as np
import pytest
import scipy.sparse

from assistmimic.mjcf.config import ImpairmentConfig, SceneConfig
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_scene, make_skeleton
from motion_lib.body_model import load_body_model, skeleton_from_body_model
from motion_lib.errors import UserInputError
from motion_lib.skeleton import ANKLE_ABOVE_SOLE, SMPL_OFFSETS_YUP, SMPL_PARENTS, TOE_ABOVE_SOLE, smpl_skeleton
from tests.conftest import robot_config

NUM_JOINTS = 24
NUM_BETAS = 10
ROOT_PARENT = 4294967295  # uint32(-1), as stored in real SMPL files
SCALE_PER_BETA = 0.1


# --- helpers -------------------------------------------------------------------------------------


def neutral_joints_yup() -> np.ndarray:
    """(24, 3) SMPL neutral rest joints in the model frame (y-up), from the built-in offsets."""
    joints = np.zeros((NUM_JOINTS, 3))
    for j, parent in enumerate(SMPL_PARENTS):
        joints[j] = SMPL_OFFSETS_YUP[j] + (joints[parent] if parent >= 0 else 0.0)
    return joints


def kintree_table(parents=SMPL_PARENTS) -> np.ndarray:
    table = np.zeros((2, NUM_JOINTS), dtype=np.int64)
    table[0] = [ROOT_PARENT if p < 0 else p for p in parents]
    table[1] = np.arange(NUM_JOINTS)
    return table


def synthetic_model_arrays() -> dict[str, np.ndarray]:
    """Dense arrays of a meaningful 24-vertex SMPL-layout model."""
    rng = np.random.default_rng(0)
    v_template = neutral_joints_yup()
    shapedirs = np.zeros((NUM_JOINTS, 3, NUM_BETAS))
    shapedirs[:, :, 0] = SCALE_PER_BETA * (v_template - v_template[0])  # scale about the pelvis
    shapedirs[:, :, 1:] = 0.01 * rng.standard_normal((NUM_JOINTS, 3, NUM_BETAS - 1))
    return {
        "v_template": v_template,
        "shapedirs": shapedirs,
        "J_regressor": np.eye(NUM_JOINTS),
        "kintree_table": kintree_table(),
        "weights": np.eye(NUM_JOINTS),
        "posedirs": np.zeros((NUM_JOINTS, 3, 9 * (NUM_JOINTS - 1))),
        "f": np.array([[0, 1, 2], [0, 2, 3], [1, 4, 5]], dtype=np.uint32),
    }


def _make_fake_chumpy():
    """A stand-in `chumpy.ch` module with a `Ch` class, so pickles reference `chumpy.ch.Ch`."""
    package = types.ModuleType("chumpy")
    package.__path__ = []
    module = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, value):
            self.__dict__ = {"x": np.asarray(value), "_dirty_vars": set()}

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    module.Ch = Ch
    package.ch = module
    return package, module, Ch


def write_smpl_pkl(path: Path, arrays: dict | None = None, drop=(), **overrides) -> Path:
    """Pickle a SMPL-layout dict the way real model files are stored (chumpy Ch, sparse J_regressor)."""
    arrays = dict(synthetic_model_arrays() if arrays is None else arrays)
    arrays.update(overrides)
    package, module, Ch = _make_fake_chumpy()
    assert "chumpy" not in sys.modules and "chumpy.ch" not in sys.modules
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = package, module
    try:
        raw = {}
        for key, value in arrays.items():
            if key in drop:
                continue
            if key in ("v_template", "shapedirs"):
                value = Ch(value)
            elif key == "J_regressor":
                value = scipy.sparse.csc_matrix(value)
            raw[key] = value
        data = pickle.dumps(raw, protocol=2)
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]
    assert b"chumpy.ch" in data and b"\nCh\n" in data  # the pickle references chumpy.ch.Ch
    path.write_bytes(data)
    return path


def write_smpl_npz(path: Path) -> Path:
    np.savez(path, **synthetic_model_arrays())
    return path


def assert_chumpy_absent():
    assert "chumpy" not in sys.modules
    with pytest.raises(ImportError):
        importlib.import_module("chumpy")


def bone_lengths(skeleton) -> np.ndarray:
    return np.linalg.norm(skeleton.offsets[1:], axis=1)


@pytest.fixture
def smpl_pkl(tmp_path) -> Path:
    return write_smpl_pkl(tmp_path / "SMPL_NEUTRAL.pkl")


# --- reading a valid model file ------------------------------------------------------------------


def test_pkl_reads_without_chumpy(smpl_pkl):
    assert_chumpy_absent()
    model = load_body_model(smpl_pkl)
    assert_chumpy_absent()
    expected = synthetic_model_arrays()
    assert model["v_template"].shape == (NUM_JOINTS, 3)
    assert model["shapedirs"].shape == (NUM_JOINTS, 3, NUM_BETAS)
    assert model["J_regressor"].shape == (NUM_JOINTS, NUM_JOINTS)
    np.testing.assert_array_equal(model["v_template"], expected["v_template"])
    np.testing.assert_array_equal(model["shapedirs"], expected["shapedirs"])
    np.testing.assert_array_equal(model["J_regressor"], np.eye(NUM_JOINTS))
    assert model["kintree_table"][0, 0] == ROOT_PARENT


def test_mean_shape_matches_builtin_skeleton(smpl_pkl):
    builtin = smpl_skeleton()
    shaped = skeleton_from_body_model(builtin, smpl_pkl, [])
    assert shaped.body_names == builtin.body_names
    assert shaped.parents == builtin.parents
    assert shaped.source_index == builtin.source_index
    np.testing.assert_allclose(shaped.offsets[1:], builtin.offsets[1:], atol=1e-6)
    assert shaped.standing_root_height == pytest.approx(builtin.standing_root_height, abs=1e-6)


def test_zero_betas_equal_no_betas(smpl_pkl):
    builtin = smpl_skeleton()
    none = skeleton_from_body_model(builtin, smpl_pkl, [])
    zeros = skeleton_from_body_model(builtin, smpl_pkl, [0.0] * NUM_BETAS)
    np.testing.assert_allclose(zeros.offsets, none.offsets, atol=1e-12)


def test_beta_one_makes_every_bone_ten_percent_longer(smpl_pkl):
    builtin = smpl_skeleton()
    shaped = skeleton_from_body_model(builtin, smpl_pkl, [1.0])
    np.testing.assert_allclose(shaped.offsets[1:], 1.1 * builtin.offsets[1:], atol=1e-6)
    np.testing.assert_allclose(bone_lengths(shaped) / bone_lengths(builtin), 1.1, rtol=1e-6)
    # The pelvis itself does not move: the scaling is about it.
    np.testing.assert_allclose(shaped.offsets[0], builtin.offsets[0], atol=1e-6)


def test_beta_one_raises_the_standing_root(smpl_pkl):
    builtin = smpl_skeleton()
    shaped = skeleton_from_body_model(builtin, smpl_pkl, [1.0])
    rest = 1.1 * builtin.rest_positions
    ankles, toes = builtin.indices(["L_Ankle", "R_Ankle"]), builtin.indices(["L_Toe", "R_Toe"])
    expected = -min(rest[ankles, 2].min() - ANKLE_ABOVE_SOLE, rest[toes, 2].min() - TOE_ABOVE_SOLE)
    assert shaped.standing_root_height == pytest.approx(expected, abs=1e-6)
    assert shaped.standing_root_height > builtin.standing_root_height + 0.05


def test_negative_beta_shrinks(smpl_pkl):
    builtin = smpl_skeleton()
    shaped = skeleton_from_body_model(builtin, smpl_pkl, [-2.0])
    np.testing.assert_allclose(bone_lengths(shaped) / bone_lengths(builtin), 0.8, rtol=1e-6)
    assert shaped.standing_root_height < builtin.standing_root_height


def test_shaped_scene_builds_and_compiles(smpl_pkl):
    robot = robot_config(body_model_path=str(smpl_pkl), betas=[1.0])
    scene = make_scene(robot, SceneConfig(), SimConfig(), ImpairmentConfig())
    builtin = smpl_skeleton()
    np.testing.assert_allclose(scene.skeleton.offsets[1:], 1.1 * builtin.offsets[1:], atol=1e-6)
    model = mujoco.MjModel.from_xml_string(scene.xml)
    assert model.nu == 2 * builtin.num_dofs + 2  # PD actuators of both persons and the supporter's two grips
    # The MJCF bodies carry the shaped bone offsets.
    knee = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "sup_L_Knee")
    np.testing.assert_allclose(model.body_pos[knee], 1.1 * builtin.offsets[builtin.index("L_Knee")], atol=1e-5)
    # Both persons start standing on the floor at the shaped height.
    root = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "sup_Pelvis")
    assert model.body_pos[root][2] == pytest.approx(scene.skeleton.standing_root_height + 0.002, abs=1e-5)
    assert_chumpy_absent()


def test_make_skeleton_without_body_model_is_builtin():
    skeleton = make_skeleton(robot_config(betas=[1.0]))
    np.testing.assert_array_equal(skeleton.offsets, smpl_skeleton().offsets)


def test_npz_gives_the_same_skeleton(tmp_path, smpl_pkl):
    npz = write_smpl_npz(tmp_path / "SMPL_NEUTRAL.npz")
    builtin = smpl_skeleton()
    for betas in ([], [1.0], [0.5, -1.0, 2.0]):
        from_pkl = skeleton_from_body_model(builtin, smpl_pkl, betas)
        from_npz = skeleton_from_body_model(builtin, npz, betas)
        np.testing.assert_allclose(from_npz.offsets, from_pkl.offsets, atol=1e-12)


# --- bad input ----------------------------------------------------------------------------------


def _names_file(path: Path) -> str:
    return re.escape(str(path))


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "SMPL_NEUTRAL.pkl"
    with pytest.raises(UserInputError, match=_names_file(path) + ".*does not exist"):
        skeleton_from_body_model(smpl_skeleton(), path, [])


def test_missing_file_through_make_scene(tmp_path):
    path = tmp_path / "SMPL_MISSING.pkl"
    robot = robot_config(body_model_path=str(path))
    with pytest.raises(UserInputError, match=_names_file(path)):
        make_scene(robot, SceneConfig(), SimConfig(), ImpairmentConfig())


def test_pickle_without_j_regressor(tmp_path):
    path = write_smpl_pkl(tmp_path / "no_regressor.pkl", drop=("J_regressor",))
    with pytest.raises(UserInputError, match=_names_file(path) + ".*J_regressor"):
        skeleton_from_body_model(smpl_skeleton(), path, [])


def test_truncated_pickle(tmp_path, smpl_pkl):
    data = smpl_pkl.read_bytes()
    path = tmp_path / "truncated.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserInputError, match=_names_file(path) + ".*not a readable"):
        skeleton_from_body_model(smpl_skeleton(), path, [])


def test_truncated_npz(tmp_path):
    data = write_smpl_npz(tmp_path / "full.npz").read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserInputError, match=_names_file(path) + ".*not a readable"):
        skeleton_from_body_model(smpl_skeleton(), path, [])


def test_pickle_of_something_else(tmp_path):
    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(UserInputError, match=_names_file(path) + ".*dict"):
        skeleton_from_body_model(smpl_skeleton(), path, [])


def test_wrong_parent_in_kintree_table(tmp_path):
    parents = list(SMPL_PARENTS)
    parents[4] = 2  # L_Knee hung under R_Hip instead of L_Hip
    path = write_smpl_pkl(tmp_path / "wrong_parent.pkl", kintree_table=kintree_table(parents))
    with pytest.raises(UserInputError, match=_names_file(path) + ".*joint 4 has parent 2.*expects 1"):
        skeleton_from_body_model(smpl_skeleton(), path, [])


def test_too_few_joints(tmp_path):
    arrays = synthetic_model_arrays()
    path = write_smpl_pkl(tmp_path / "short.pkl", kintree_table=arrays["kintree_table"][:, :22])
    with pytest.raises(UserInputError, match=_names_file(path) + ".*22 joints"):
        skeleton_from_body_model(smpl_skeleton(), path, [])


def test_more_betas_than_shape_components(tmp_path, smpl_pkl):
    with pytest.raises(UserInputError, match=f"{NUM_BETAS + 1} betas.*{NUM_BETAS} shape components"):
        skeleton_from_body_model(smpl_skeleton(), smpl_pkl, [0.1] * (NUM_BETAS + 1))


def test_more_betas_than_shape_components_names_the_file(smpl_pkl):
    with pytest.raises(UserInputError, match=_names_file(smpl_pkl)):
        skeleton_from_body_model(smpl_skeleton(), smpl_pkl, [0.1] * (NUM_BETAS + 1))


def test_non_finite_betas_are_rejected(smpl_pkl):
    with pytest.raises(UserInputError, match="betas must be finite"):
        skeleton_from_body_model(smpl_skeleton(), smpl_pkl, [float("nan")])


def test_mismatched_array_shapes_name_the_file(tmp_path):
    arrays = synthetic_model_arrays()
    arrays["J_regressor"] = arrays["J_regressor"][:, :-1]  # one vertex short
    path = write_smpl_pkl(tmp_path / "bad_shapes.pkl", arrays=arrays)
    with pytest.raises(UserInputError, match=_names_file(path) + r".*J_regressor is \(24, 23\)"):
        skeleton_from_body_model(smpl_skeleton(), path, [])


def test_pickle_of_an_unknown_module_is_a_clear_error(tmp_path):
    path = tmp_path / "odd.pkl"
    path.write_bytes(b"\x80\x02cno_such_module\nThing\nq\x00.")
    with pytest.raises(UserInputError, match=_names_file(path) + ": refused to load .* it names .no_such_module.Thing."):
        skeleton_from_body_model(smpl_skeleton(), path, [])

