"""The environments and the motion library keep every tensor on the simulator's device and step without host syncs.

There is no second device on a CPU machine, so the check runs the training step on PyTorch's `meta` device:
a backend stand-in (`MetaBackend`, pure torch, kinematic) reports `device = meta`, the library is moved there,
and every registered environment resets and steps. On `meta` a tensor has a shape but no data, so this fails
for exactly the mistakes that break or stall a GPU run:
- a tensor made on the CPU (a factory without `device=`) meeting a device tensor raises, as it does on CUDA;
- a host sync (`.item()`, `bool(t)`, `if t.any()`, `.tolist()`, `.cpu()`, a boolean-mask index) raises, since
  there is no data to bring back;
and every tensor the step returns or the env and library keep is checked to be on `meta`. Each env steps
twice over: sync-free (masked resets, the default on a GPU), untouched; and resetting by id, where the one
documented sync (`_ended_worlds`, which sizes the ids of ended worlds for the backend) is replaced by a
stand-in that alternately ends no world and a fixed set of worlds, so that reset path runs on `meta` too.

What `meta` cannot see is a host-made tensor copied to the device (`torch.tensor([...], device=d)`,
`cpu_tensor.to(d)`: silent on `meta`, a blocking copy on CUDA) and code paths the run does not take. A static
check covers those: in the env and motion-library modules, every tensor factory names its `device=`, and
`torch.tensor` / `torch.as_tensor` / `.item()` / `.tolist()` / `.cpu()` / `.numpy()` appear only in the
construction-time functions of an explicit allow-list.
"""

from __future__ import annotations

import ast
import dataclasses

import pytest
import torch

from assistmimic.envs.config import AssistEnvConfig
from assistmimic.envs.registry import ENVIRONMENTS
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.mjcf.furniture import scene_furniture
from assistmimic.sim.backend import PersonState, SimBackend
from assistmimic.stages.common import load_clips
from motion_lib.clip import PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary
from motion_lib.rotations import quat_to_matrix
from motion_lib.skeleton import Skeleton, get_skeleton
from tests.conftest import REPO, build_backend

META = torch.device("meta")


class MetaBackend(SimBackend):
    """A torch-only backend on `device`: a step sets the hinge angles to the PD targets (no dynamics, no contacts);
    furniture slots for `clips` (their poses kept in `mocap`)."""

    def __init__(self, skeleton: Skeleton, num_envs: int, n_agents: int, device: torch.device, clips=()):
        super().__init__(skeleton, num_envs, 1.0 / 30.0, device, n_agents)
        self.furniture = scene_furniture([], [clip.furniture for clip in clips])
        self.mocap = torch.zeros(num_envs, len(self.furniture.slots), 7, device=device)
        e, a, d = num_envs, n_agents, skeleton.num_dofs
        self.qpos_root = torch.zeros(e, a, 7, device=device)
        self.qvel_root = torch.zeros(e, a, 6, device=device)
        self.qpos_joint = torch.zeros(e, a, d, device=device)
        self.qvel_joint = torch.zeros(e, a, d, device=device)
        self.num_hand_bodies = 2 * len(skeleton.hand_body_names("L"))

    def step(self, pd_targets: torch.Tensor, grip: torch.Tensor | None = None) -> torch.Tensor:
        self.qvel_joint = (pd_targets - self.qpos_joint) / self.policy_dt
        self.qpos_joint = pd_targets.clone()
        self._invalidate()
        return torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)

    def set_root_wrench(self, wrench: torch.Tensor) -> None:
        """No dynamics here: the wrench is only kept."""
        self.wrench = wrench

    def reset_worlds(self, env_ids: torch.Tensor, state: PersonState) -> None:
        root_ang_vel_b = (quat_to_matrix(state.root_quat).transpose(-1, -2) @ state.root_ang_vel[..., None])[..., 0]
        self.qpos_root[env_ids] = torch.cat([state.root_pos, state.root_quat], dim=-1)
        self.qvel_root[env_ids] = torch.cat([state.root_lin_vel, root_ang_vel_b], dim=-1)
        self.qpos_joint[env_ids], self.qvel_joint[env_ids] = state.joint_pos, state.joint_vel
        self._invalidate()

    def reset_where(self, mask: torch.Tensor, state: PersonState) -> None:
        mask = self._checked_mask(mask, state)
        for tensor, value in zip((self.qpos_root, self.qpos_joint, self.qvel_root, self.qvel_joint),
                                 self._generalized_coordinates(state)):
            tensor.copy_(torch.where(mask[:, None, None], value, tensor))
        self._invalidate()

    def place_furniture(self, env_ids: torch.Tensor, poses: torch.Tensor) -> None:
        self.mocap[env_ids] = self._checked_furniture(poses, env_ids.numel())

    def place_furniture_where(self, mask: torch.Tensor, poses: torch.Tensor) -> None:
        mask = self._checked_furniture_mask(mask, poses)
        self.mocap.copy_(torch.where(mask[:, None, None], poses, self.mocap))

    def reset_to_default(self, env_ids: torch.Tensor) -> None:
        for tensor in (self.qpos_root, self.qvel_root, self.qpos_joint, self.qvel_joint):
            tensor[env_ids] = 0.0
        self._invalidate()

    def set_world_params(self, env_ids, mass_scale, kp_scale, kd_scale) -> None:
        pass

    def generalized_state(self):
        return self.qpos_root, self.qpos_joint, self.qvel_root, self.qvel_joint

    def actuator_torque(self) -> torch.Tensor:
        return 100.0 * self.qvel_joint

    def hand_contact_force(self) -> torch.Tensor:
        return torch.ones(self.num_envs, self.n_agents, self.num_hand_bodies, 3, device=self.device)

    def foot_contact_force(self) -> torch.Tensor:
        return torch.ones(self.num_envs, self.n_agents, 2, 3, device=self.device)

    def partner_contact_force(self) -> torch.Tensor:
        return torch.ones(self.num_envs, self.n_agents, 3, device=self.device)


def tensors_in(value, path: str = ""):
    """(path, tensor) of every tensor in `value`: tensors, lists, tuples, dicts and dataclasses, nested."""
    if isinstance(value, torch.Tensor):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from tensors_in(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from tensors_in(item, f"{path}[{key!r}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from tensors_in(getattr(value, field.name), f"{path}.{field.name}")


def off_device(value, device: torch.device, path: str) -> list[str]:
    return [f"{name} on {tensor.device}" for name, tensor in tensors_in(value, path) if tensor.device != device]


def clips_for(persons: int, frames: int = 8):
    """The demo clips of `persons` persons, cut to their first `frames` frames (where tensors live does not depend on
    a clip's length, and the hinge table's frame-by-frame fit crawls on the meta device)."""
    clips = load_clips(None, f"data/demo/{'single' if persons == 1 else 'assist'}.pkl", "smpl", persons=persons)[1]
    return [dataclasses.replace(clip, persons=[PersonMotion(p.root_pos[:frames], p.root_rot[:frames],
                                                            p.joint_rot[:frames]) for p in clip.persons])
            for clip in clips]


@pytest.mark.parametrize("sync_free", [True, False], ids=["sync-free", "by-id"])
@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_every_environment_steps_on_a_device_of_its_own_without_host_syncs(name, sync_free):
    spec = ENVIRONMENTS[name]
    clips = clips_for(spec.persons)
    num_envs = 4
    backend = MetaBackend(get_skeleton("smpl"), num_envs, spec.persons, META, clips)
    cfg = spec.config_class(residual_actions=True, random_start=True, sync_free_resets=None if sync_free else False)
    env = spec.env_class(backend, MotionLibrary(clips).to(META), cfg, None)
    assert env.sync_free == sync_free  # None: on for any device but the CPU
    ended = [[], [0, num_envs - 1], [1], [], [0, num_envs - 1], [2]]  # per step: none, several and one world
    calls = []

    def ended_worlds(done: torch.Tensor) -> torch.Tensor:  # the by-id path's host sync, replaced
        calls.append(done.device)
        return torch.tensor(ended[len(calls) - 1], dtype=torch.long).to(done.device)

    env._ended_worlds = ended_worlds
    problems = off_device(env.reset(), META, "reset obs")
    for step in range(len(ended)):
        if step == 3:  # the clip groups' sampling from here on
            env.partition_worlds([[0], list(range(len(clips)))])
        result = env.step([torch.zeros(num_envs, d, device=META) for d in env.action_dims])
        problems += off_device(result, META, f"step {step}")
    assert calls == ([] if sync_free else [META] * len(ended))
    for agent in range(env.num_agents):
        problems += off_device(env.reference_amp_obs(6, None, agent=agent), META, "reference_amp_obs")
        problems += off_device(env.reference_amp_obs_per_group(3, None, agent=agent), META, "reference_amp_obs_per_group")
    problems += off_device({k: v for k, v in vars(env).items() if k not in ("backend", "library")}, META, "env")
    problems += off_device([env.furniture.poses, backend.mocap], META, "furniture")
    problems += off_device(vars(env.library), META, "library")
    assert not problems, problems
    assert env.device == META and env.num_groups == 2


def test_a_library_or_generator_on_another_device_is_a_clear_error():
    clips = clips_for(2)
    backend = build_backend(2)
    try:
        with pytest.raises(UserInputError, match=r"MotionLibrary\(clips, backend.device\)"):
            TrackingEnv(backend, MotionLibrary(clips, META), AssistEnvConfig())
        meta_backend = MetaBackend(get_skeleton("smpl"), 2, 2, META, clips)
        with pytest.raises(UserInputError, match=r"torch.Generator\(device=backend.device\)"):
            TrackingEnv(meta_backend, MotionLibrary(clips).to(META), AssistEnvConfig(), torch.Generator())
    finally:
        backend.close()


def test_moving_a_library_keeps_its_samples():
    library = MotionLibrary(clips_for(2))
    assert library.to("cpu") is library
    moved = library.to(META)
    assert moved.device == META and library.device == torch.device("cpu")
    assert moved.clip_seconds == library.clip_seconds == library.clip_duration.tolist()
    assert moved.sample(torch.zeros(3, dtype=torch.long, device=META), torch.zeros(3, device=META)).pos.device == META


# --- the static check ---------------------------------------------------------------------------
SCANNED = sorted(str(p.relative_to(REPO)) for p in (REPO / "assistmimic" / "envs").glob("*.py")) + [
    "motion_lib/motion_library.py", "motion_lib/rotations.py", "motion_lib/kinematics.py"]
"""Modules of the training step: the environments and what they call in motion_lib."""
FACTORIES = {"zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand", "randn", "randint", "randperm",
             "tensor", "as_tensor"}
"""torch functions that make a tensor on the default (CPU) device unless told `device=`."""
HOST_DATA = {"tensor", "as_tensor"}
"""torch functions that copy host data (a blocking copy on a GPU)."""
HOST_METHODS = {"item", "tolist", "cpu", "numpy"}
"""Tensor methods that bring data back to the host (a sync on a GPU)."""
CONSTRUCTION = {
    "assistmimic/envs/tracking.py": {"TrackingEnv.__init__", "TrackingEnv.partition_worlds", "TrackingEnv.start_clips",
                                     "TrackingEnv._amp_table"},
    "assistmimic/envs/assistive.py": {"HandLayout.of"},
    "assistmimic/envs/furniture.py": {"FurnitureTable.__init__"},
    "assistmimic/envs/term_set.py": {"_checked_params"},
    "assistmimic/envs/reference_state.py": {"continuous_hinge_angles", "hinge_steps", "HingeTable.__init__"},
    "motion_lib/motion_library.py": {"MotionLibrary.__init__", "MotionLibrary._velocities", "MotionLibrary.family_sampling"},
    "motion_lib/kinematics.py": {"ForwardKinematics.__init__"},
}
"""Functions run once (construction, a table built once, the start of an evaluation batch) or once per training
iteration to be logged (`family_sampling`, read by `TrackingEnv.training_scalars`), where host data and host-side
layouts are fine. Everything else runs per step."""


def violations(path: str) -> list[str]:
    """'<path>:<line> <function>: <what>' for every factory without `device=` and every host transfer outside
    the module's construction-time functions."""
    allowed = CONSTRUCTION.get(path, set())
    found = []

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, scope + (child.name,))
                continue
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                qualname = ".".join(scope)
                if any(qualname == name or qualname.startswith(name + ".") for name in allowed):
                    visit(child, scope)
                    continue
                func, where = child.func, f"{path}:{child.lineno} {qualname or '<module>'}"
                is_torch = isinstance(func.value, ast.Name) and func.value.id == "torch"
                if is_torch and func.attr in FACTORIES and "device" not in {k.arg for k in child.keywords}:
                    found.append(f"{where}: torch.{func.attr} without device=")
                if is_torch and func.attr in HOST_DATA:
                    found.append(f"{where}: torch.{func.attr} copies host data per call")
                if func.attr in HOST_METHODS and not child.args:
                    found.append(f"{where}: .{func.attr}() brings data to the host")
            visit(child, scope)

    visit(ast.parse((REPO / path).read_text()), ())
    return found


def test_step_code_makes_tensors_on_the_device_and_never_transfers_to_the_host():
    problems = [v for path in SCANNED for v in violations(path)]
    assert not problems, "\n".join(problems)


def test_the_static_check_sees_what_it_looks_for(tmp_path, monkeypatch):
    source = ("import torch\nclass E:\n    def __init__(self):\n        self.a = torch.zeros(3)\n"
              "    def step(self, x):\n        y = torch.zeros(3)\n        z = torch.tensor([1.0], device=x.device)\n"
              "        return x.sum().item() + torch.ones(2, device=x.device).tolist()[0]\n")
    (tmp_path / "env.py").write_text(source)
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    monkeypatch.setitem(CONSTRUCTION, "env.py", {"E.__init__"})
    found = violations("env.py")
    assert [f.split(": ", 1)[1] for f in found] == ["torch.zeros without device=", "torch.tensor copies host data per call",
                                                    ".item() brings data to the host", ".tolist() brings data to the host"]
    assert all(" E.step" in f for f in found)
