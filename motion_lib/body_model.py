"""Body shape from the user's own SMPL / SMPL-X model file (never shipped with the project).

Model files are licensed: the user points `robot.body_model_path` at theirs. SMPL `.pkl` files
were pickled with `chumpy` objects; they are read here without chumpy, by the restricted unpickler of
`motion_lib.safe_pickle` with stand-ins for chumpy objects (keeping the pickled value `x`) and sparse
matrices. `.npz` model files (SMPL-X) load without unpickling anything. The shaped
rest joints come from `smplx`'s own blend-shape and joint-regressor functions:
J = J_regressor @ (v_template + shapedirs @ betas).
"""

from __future__ import annotations

import copyreg
from pathlib import Path

import numpy as np

from motion_lib.checks import one_line
from motion_lib.errors import UserInputError
from motion_lib.formats.base import load_npz
from motion_lib.safe_pickle import load_pickle
from motion_lib.skeleton import Skeleton, yup_to_zup

REQUIRED_KEYS = ("v_template", "shapedirs", "J_regressor", "kintree_table")


class _StateHolder:
    """Takes the pickled state of an object it stands in for, as attributes."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        if isinstance(state, tuple):  # (dict, slots) form
            state = state[0] or {}
        self.__dict__.update(state if isinstance(state, dict) else {})


class _ChumpyStandIn(_StateHolder):
    """Stands in for any chumpy object; its value is the `x` entry."""


class _SparseStandIn(_StateHolder):
    """Stands in for a compressed scipy.sparse matrix (CSC or CSR: `data`, `indices`, `indptr` and
    `_shape`, or `shape` in old scipy versions)."""

    layout = "csc"

    def toarray(self) -> np.ndarray:
        import scipy.sparse

        build = scipy.sparse.csc_matrix if self.layout == "csc" else scipy.sparse.csr_matrix
        shape = self.__dict__.get("_shape", self.__dict__.get("shape"))
        return build((self.data, self.indices, self.indptr), shape=shape).toarray()


class _CsrStandIn(_SparseStandIn):
    layout = "csr"


_MODEL_GLOBALS = {
    ("copyreg", "_reconstructor"): copyreg._reconstructor,  # how Python 2 pickled chumpy and scipy objects
    ("builtins", "object"): object,
    ("builtins", "set"): set,
}


def _model_global(module: str, name: str) -> object | None:
    """The extra globals a SMPL model pickle may name (`motion_lib.safe_pickle`): stand-ins for chumpy
    objects and CSC/CSR sparse matrices, and what Python 2 pickled them with."""
    if module == "chumpy" or module.startswith("chumpy."):
        return _ChumpyStandIn
    if module.startswith("scipy.sparse") and name in ("csc_matrix", "csc_array", "csr_matrix", "csr_array"):
        return _SparseStandIn if name.startswith("csc") else _CsrStandIn
    return _MODEL_GLOBALS.get((module, name))


def _as_array(value, key: str, path: Path) -> np.ndarray:
    if isinstance(value, _ChumpyStandIn):
        if "x" not in value.__dict__:
            raise UserInputError(f"{path}: '{key}' is a chumpy expression without a stored value; re-save the model with plain arrays")
        value = value.__dict__["x"]
    try:
        if isinstance(value, _SparseStandIn):  # the J_regressor of SMPL .pkl files
            value = value.toarray()
        return np.asarray(value, dtype=np.float64)
    except (AttributeError, TypeError, ValueError) as err:
        raise UserInputError(f"body model file {path}: '{key}' is not an array of numbers ({one_line(err, 80)})") from None


def load_body_model(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a SMPL/SMPL-X model file (.pkl or .npz) needed for the skeleton."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"body model file {path} does not exist (robot.body_model_path); SMPL/SMPL-X files are not shipped, register and download your own")
    if path.suffix == ".npz":
        raw = load_npz(path, (), keys=REQUIRED_KEYS)  # other keys may hold pickled objects
    else:
        raw = load_pickle(path, "SMPL model pickle", extra=_model_global, encoding="latin1")
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
