"""Body shape from the user's own SMPL / SMPL-X model file (never shipped with the project).

Model files are licensed: the user points `robot.body_model_path` at theirs. SMPL `.pkl` files
were pickled with `chumpy` objects; they are read here without chumpy by mapping its classes to a
stand-in that keeps the pickled value (`x`). `.npz` model files (SMPL-X) load directly. The shaped
rest joints come from `smplx`'s own blend-shape and joint-regressor functions:
J = J_regressor @ (v_template + shapedirs @ betas).
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np

from motion_lib.errors import UserInputError
from motion_lib.skeleton import Skeleton, yup_to_zup

REQUIRED_KEYS = ("v_template", "shapedirs", "J_regressor", "kintree_table")


class _ChumpyStandIn:
    """Takes the pickled state of any chumpy object; its value is the `x` entry."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        if isinstance(state, tuple):  # (dict, slots) form
            state = state[0] or {}
        self.__dict__.update(state if isinstance(state, dict) else {})


class _NoChumpyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStandIn
        return super().find_class(module, name)


def _as_array(value, key: str, path: Path) -> np.ndarray:
    if isinstance(value, _ChumpyStandIn):
        if "x" not in value.__dict__:
            raise UserInputError(f"{path}: '{key}' is a chumpy expression without a stored value; re-save the model with plain arrays")
        value = value.__dict__["x"]
    if hasattr(value, "toarray"):  # scipy.sparse (the J_regressor of SMPL .pkl files)
        value = value.toarray()
    return np.asarray(value, dtype=np.float64)


def load_body_model(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a SMPL/SMPL-X model file (.pkl or .npz) needed for the skeleton."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"body model file {path} does not exist (robot.body_model_path); SMPL/SMPL-X files are not shipped, register and download your own")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=True) as npz:
                raw = {k: npz[k] for k in npz.files}
        else:
            with open(path, "rb") as f:
                raw = _NoChumpyUnpickler(f, encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, zipfile.BadZipFile, ImportError, AttributeError) as err:
        raise UserInputError(f"body model file {path} cannot be read ({err})") from None
    if not isinstance(raw, dict):
        raise UserInputError(f"body model file {path} does not hold a dict of model arrays")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise UserInputError(f"body model file {path} lacks {', '.join(missing)}; is it a SMPL/SMPL-X model file?")
    model = {k: _as_array(raw[k], k, path) for k in REQUIRED_KEYS}
    _check_shapes(model, path)
    return model


def _check_shapes(model: dict[str, np.ndarray], path: Path) -> None:
    v, dirs, regressor, tree = (model[k] for k in REQUIRED_KEYS)
    num_vertices = v.shape[0] if v.ndim == 2 else -1
    problems = []
    if v.ndim != 2 or v.shape[1] != 3:
        problems.append(f"v_template is {v.shape}, expected (V, 3)")
    if dirs.ndim != 3 or dirs.shape[:2] != (num_vertices, 3):
        problems.append(f"shapedirs is {dirs.shape}, expected ({num_vertices}, 3, K)")
    if regressor.ndim != 2 or regressor.shape[1] != num_vertices:
        problems.append(f"J_regressor is {regressor.shape}, expected (J, {num_vertices})")
    num_joints = regressor.shape[0] if regressor.ndim == 2 else "J"
    if tree.ndim != 2 or tree.shape[0] != 2 or tree.shape[1] != num_joints:
        problems.append(f"kintree_table is {tree.shape} ({tree.shape[-1]} joints), expected (2, {num_joints})")
    if problems:
        raise UserInputError(f"body model file {path}: {'; '.join(problems)}")


def shaped_rest_joints(model: dict[str, np.ndarray], betas: list[float]) -> np.ndarray:
    """(K, 3) rest joint positions (model frame, y-up) for shape coefficients `betas`.

    The caller checks `betas` (count and finiteness) against the model first.
    """
    import torch
    from smplx.lbs import blend_shapes, vertices2joints

    shapedirs = model["shapedirs"]
    beta = torch.zeros(1, max(len(betas), 1), dtype=torch.float64)
    beta[0, : len(betas)] = torch.tensor(betas, dtype=torch.float64)
    dirs = torch.from_numpy(shapedirs[..., : beta.shape[1]])
    vertices = torch.from_numpy(model["v_template"])[None] + blend_shapes(beta, dirs)
    return vertices2joints(torch.from_numpy(model["J_regressor"]), vertices)[0].numpy()


def skeleton_from_body_model(skeleton: Skeleton, path: str | Path, betas: list[float]) -> Skeleton:
    """`skeleton` with bone offsets of the body shape in the user's model file."""
    model = load_body_model(path)
    if len(betas) > model["shapedirs"].shape[-1]:
        raise UserInputError(f"body model file {path}: {len(betas)} betas given but the model has {model['shapedirs'].shape[-1]} shape components")
    if not np.isfinite(np.asarray(betas, dtype=np.float64)).all():
        raise UserInputError(f"robot.betas must be finite numbers, got {list(betas)}")
    parents = model["kintree_table"][0].astype(np.int64)
    needed = max(skeleton.source_index) + 1
    if len(parents) < needed:
        raise UserInputError(f"body model file {path} has {len(parents)} joints; the {skeleton.name} skeleton needs {needed}")
    joints_yup = shaped_rest_joints(model, betas)
    offsets = np.zeros((skeleton.num_bodies, 3))
    for b, src in enumerate(skeleton.source_index):
        parent = skeleton.parents[b]
        if parent < 0:
            offsets[b] = yup_to_zup(joints_yup[src])
            continue
        parent_src = skeleton.source_index[parent]
        if parents[src] != parent_src:
            raise UserInputError(
                f"body model file {path}: joint {src} has parent {parents[src]}, the {skeleton.name} skeleton expects {parent_src}"
            )
        offsets[b] = yup_to_zup(joints_yup[src] - joints_yup[parent_src])
    return skeleton.with_offsets(offsets)
