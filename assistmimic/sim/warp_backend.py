"""GPU backend: E worlds of the same MJCF stepped together by `mujoco_warp` (MuJoCo Warp).

The scene XML the CPU backend compiles is put on a Warp device (`cuda:N`, or Warp's `cpu`, slow but
enough to test this code path) as one batched `Model` and one `Data` of E worlds. A policy step writes
the PD targets into `ctrl` and runs `substeps` calls of `mujoco_warp.step`, captured once as a Warp graph
and replayed (a CUDA graph on a GPU; on the CPU a recorded launch list, which skips Python's launch
overhead: 18x faster for one world, 2.4x for 16). Everything the caller reads or writes goes through torch
views of Warp's arrays (`wp.to_torch`: same memory, same device), gathered or scattered with the index
tensors of `SceneLayout`, so a step makes no host copy and no host sync. Divergence (NaN/inf, or
|qvel| > max_joint_velocity) is found and the diverged worlds reset on the device.

What mujoco_warp (4.0) does differently from C MuJoCo, and what this backend does about it:
- solvers: CG and Newton only, no PGS (the CPU backend's default). A scene built with sim.solver=PGS
  is refused with one sentence; configs/sim/warp.yaml sets Newton.
- float32 throughout (C MuJoCo: float64). With the same solver, start and controls, body positions
  agree with the CPU backend to 6e-5 m, velocities to 2e-3 m/s and rad/s, over 320 physics steps of
  standing with gentle PD targets (tests/test_warp_backend.py); motion with falls or impacts separates
  chaotically within a second or two.
- contacts live in one pool of E * nconmax (a world may use more than nconmax while others use fewer);
  constraint rows are capped at njmax per world. Nothing grows: when a buffer is full, contacts or
  rows are dropped, the world-step is counted in `overflow_total`, and mujoco_warp's own per-step
  overflow printing is turned off.
- furniture: each world's slot boxes are mocap bodies, placed by writing the world's rows of `mocap_pos` and
  `mocap_quat` (Data fields, per world like qpos).
- per-world parameters are batched model fields (a leading dimension of E): body mass and inertia,
  actuator gain and bias parameters, and what `mujoco_warp.set_const` derives from them (subtree mass,
  dof/body inverse weights, actuator acc0), as `mj_setConst` does on the CPU.
- no automatic reset on bad accelerations (C MuJoCo's mjWARN_BADQACC reset); divergence is caught by
  the NaN / velocity test instead. A NaN in a root quaternion alone is normalised away by mujoco_warp's
  kinematics instead of spreading (C MuJoCo spreads it), so that world is not reported as diverged.
- speed on Warp's CPU device (one thread): about 125 two-person world policy steps/s, 10-20x slower
  than the CPU backend on two cores; the CPU device is for testing, the GPU for training.
- Warp compiles mujoco_warp's kernels on first use per device and caches them (~/.cache/warp or
  $WARP_CACHE_PATH): one to two minutes on a two-core CPU, about three on an H200. Warp's own log line per loaded
  kernel module (about 150 on a first run) is turned off here; one line says where the kernels are cached.
"""

from __future__ import annotations

import os

import mujoco
import mujoco_warp as mjw
import numpy as np
import torch
import warp as wp

from assistmimic.mjcf.scene import SceneModel
from assistmimic.sim.backend import PersonState, SimBackend
from assistmimic.sim.cpu_backend import FULL_PHYSICS, SceneLayout
from motion_lib.errors import UserInputError

PER_WORLD_FIELDS = ("body_mass", "body_inertia", "body_subtreemass", "body_invweight0", "dof_invweight0",
                    "actuator_gainprm", "actuator_biasprm", "actuator_acc0")
"""Model fields batched over worlds: the scaled ones and those `set_const` derives from them."""
DROPPED = int(mjw.OverflowType.ALL & ~(mjw.OverflowType.ITERATIONS | mjw.OverflowType.LS_ITERATIONS))
"""Overflow bits that mean contacts or constraint rows were dropped (not: the solver used all its iterations)."""
SETTLE_SECONDS = 0.5
"""Simulated time the default state settles on the CPU before its contacts are counted (sizes the buffers)."""
CONTACT_HEADROOM, MIN_NCONMAX = 3, 64
_announced_devices: set[str] = set()
"""Warp devices this process has said where the kernels are cached for (one line per device, not per backend)."""


def resolve_device(device: str | None) -> str:
    """The Warp device of `sim.device`: None picks cuda:$LOCAL_RANK (0 if unset) when Warp sees a GPU, else cpu
    (with a warning: Warp's CPU device runs its kernels on one thread, far slower than sim=cpu)."""
    name = device
    if name is None:
        name = f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if wp.get_cuda_device_count() > 0 else "cpu"
        if name == "cpu":
            print("warning: sim=warp sees no GPU and runs on Warp's CPU device (one thread, about 15x slower "
                  "than sim=cpu); use sim=cpu without a GPU, or sim.device=cpu to mean it")
    try:
        return wp.get_device(name).alias
    except (RuntimeError, ValueError):
        available = ", ".join(d.alias for d in wp.get_devices())
        picked = "" if device is not None else " (sim.device null picks cuda:$LOCAL_RANK)"
        raise UserInputError(f"sim.device '{name}'{picked} is not a Warp device here; available: {available}") from None


def default_nconmax(model: mujoco.MjModel) -> int:
    """Contacts per world: CONTACT_HEADROOM x the most contacts while the default state settles for
    SETTLE_SECONDS (CPU MuJoCo, zero controls: standing; 19 for two SMPL persons), at least MIN_NCONMAX."""
    data = mujoco.MjData(model)
    ncon = 0
    for _ in range(round(SETTLE_SECONDS / model.opt.timestep)):
        mujoco.mj_step(model, data)
        ncon = max(ncon, data.ncon)
    return max(MIN_NCONMAX, CONTACT_HEADROOM * ncon)


def default_njmax(model: mujoco.MjModel, nconmax: int) -> int:
    """Constraint rows per world: those of `nconmax` contacts, plus one per limited joint and per dof with friction loss."""
    condim = int(max(model.geom_condim.max(), model.pair_dim.max(initial=1)))
    if condim == 1:
        rows_per_contact = 1
    else:
        rows_per_contact = 2 * (condim - 1) if model.opt.cone == mujoco.mjtCone.mjCONE_PYRAMIDAL else condim
    return rows_per_contact * nconmax + int(model.jnt_limited.sum()) + int((model.dof_frictionloss > 0).sum())


class WarpBackend(SimBackend):
    """E worlds (one or two persons each) on a Warp device. Tensors are float32 on the matching torch device."""

    def __init__(self, scene: SceneModel, num_envs: int, substeps: int = 4, device: str | None = None,
                 nconmax: int | None = None, njmax: int | None = None, graph_capture: bool = True,
                 max_joint_velocity: float = 100.0):
        model = mujoco.MjModel.from_xml_string(scene.xml)
        if model.opt.solver == mujoco.mjtSolver.mjSOL_PGS:
            raise UserInputError("mujoco_warp has no PGS solver; use sim.solver=Newton or CG with sim.backend=warp")
        if substeps < 1:
            raise UserInputError(f"sim.substeps must be at least 1, got {substeps}")
        wp.config.log_level = max(wp.config.log_level, wp.LOG_WARNING)  # no init banner, no line per kernel module
        self._wp_device = wp.get_device(resolve_device(device))
        if self._wp_device.alias not in _announced_devices:
            _announced_devices.add(self._wp_device.alias)
            print(f"Warp on {self._wp_device.alias}: mujoco_warp's kernels load on the first steps (a first run "
                  f"compiles them: minutes; cached in {wp.config.kernel_cache_dir})")
        torch_device = torch.device("cpu" if self._wp_device.is_cpu else f"cuda:{self._wp_device.ordinal}")
        self._counts = torch.zeros(2, dtype=torch.int64, device=torch_device)  # diverged, overflowed world-steps
        super().__init__(scene.skeleton, num_envs, policy_dt=substeps * model.opt.timestep, device=torch_device,
                         n_agents=len(scene.prefixes))
        if (nconmax is not None and nconmax < 1) or (njmax is not None and njmax < 1):
            raise UserInputError(f"sim.nconmax and sim.njmax must be positive (or null), got {nconmax} and {njmax}")
        self.nconmax = default_nconmax(model) if nconmax is None else nconmax
        """Contacts allocated per world (one pool of num_envs * nconmax)."""
        self.njmax = default_njmax(model, self.nconmax) if njmax is None else njmax
        """Constraint rows allocated per world."""
        self.scene, self.model, self.substeps = scene, model, substeps
        self.furniture = scene.furniture
        self.max_joint_velocity = max_joint_velocity
        self.layout = lay = SceneLayout(model, scene)
        self.pd_lead_time = torch.as_tensor(lay.pd_lead_time(model), dtype=torch.float32, device=self.device)
        self.graph_capture = graph_capture
        self._graph = None
        self._torch_streams: dict[int, wp.Stream] = {}

        with wp.ScopedDevice(self._wp_device):
            self._wp_model = mjw.put_model(model, batch_sizes={name: num_envs for name in PER_WORLD_FIELDS})
            self._wp_model.opt.warn_overflow = 0  # counted in overflow_total instead of printed every step
            self._wp_data = mjw.make_data(model, nworld=num_envs, nconmax=self.nconmax, njmax=self.njmax)
        m, d = self._wp_model, self._wp_data
        self._qpos, self._qvel, self._ctrl = wp.to_torch(d.qpos), wp.to_torch(d.qvel), wp.to_torch(d.ctrl)
        self._sensordata, self._time = wp.to_torch(d.sensordata), wp.to_torch(d.time)
        self._warmstart, self._overflow = wp.to_torch(d.qacc_warmstart), wp.to_torch(d.overflow)
        self._mocap_pos, self._mocap_quat = wp.to_torch(d.mocap_pos), wp.to_torch(d.mocap_quat)
        self._xfrc = wp.to_torch(d.xfrc_applied)  # (E, nbody, 6) force, torque
        self._body_mass, self._body_inertia = wp.to_torch(m.body_mass), wp.to_torch(m.body_inertia)
        self._gainprm, self._biasprm = wp.to_torch(m.actuator_gainprm), wp.to_torch(m.actuator_biasprm)
        self._base = {name: getattr(self, f"_{name}")[0].clone()
                      for name in ("body_mass", "body_inertia", "gainprm", "biasprm")}
        self._default_qpos = torch.as_tensor(model.qpos0, dtype=torch.float32, device=self.device)

        def index(array: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(array, dtype=torch.long, device=self.device)

        self._cols_qpos_root, self._cols_qpos_joint = index(lay.qpos_root), index(lay.qpos_joint)
        self._cols_qvel_root, self._cols_qvel_joint = index(lay.qvel_root), index(lay.qvel_joint)
        self._cols_ctrl, self._bodies = index(lay.actuator.reshape(-1)), index(lay.body.reshape(-1))
        self._cols_torque, self._cols_hand, self._cols_foot = (index(lay.torque_sensor), index(lay.hand_sensor),
                                                               index(lay.foot_sensor))
        self._cols_partner = index(lay.partner_sensor)
        self._furniture = index(lay.furniture)
        self._roots = index(lay.body[:, 0])
        self._set_grip_layout(scene.grip_dims, lay)
        self._generalized = None

    # --- counters (device tensors, read on the host only when asked) ------------------------
    @property
    def diverged_total(self) -> int:
        """Worlds reset because they diverged, since construction."""
        return int(self._counts[0])

    @diverged_total.setter
    def diverged_total(self, value: int) -> None:
        self._counts[0] = value

    @property
    def overflow_total(self) -> int:
        """World-steps in which contacts or constraint rows were dropped (buffers full), since construction."""
        return int(self._counts[1])

    @overflow_total.setter
    def overflow_total(self, value: int) -> None:
        self._counts[1] = value

    # --- running Warp work in order with torch -----------------------------------------------
    def _on_warp(self, work) -> None:
        """Run `work` (Warp launches) on this backend's device, ordered after the torch work already queued on
        the current torch stream and before any torch work queued later (stream waits, no host sync)."""
        if self._wp_device.is_cpu:
            with wp.ScopedDevice(self._wp_device):
                work()
            return
        torch_stream = torch.cuda.current_stream(self.device)
        if torch_stream.cuda_stream not in self._torch_streams:
            self._torch_streams[torch_stream.cuda_stream] = wp.stream_from_torch(torch_stream)
        torch_wp_stream, warp_stream = self._torch_streams[torch_stream.cuda_stream], wp.get_stream(self._wp_device)
        warp_stream.wait_stream(torch_wp_stream)
        with wp.ScopedStream(warp_stream):
            work()
        torch_wp_stream.wait_stream(warp_stream)

    def _simulate(self) -> None:
        for _ in range(self.substeps):
            mjw.step(self._wp_model, self._wp_data)

    def _simulate_step(self) -> None:
        """One policy step of physics: the substep loop, replayed as a Warp graph after its first (eager) run."""
        if self._graph is not None:
            wp.capture_launch(self._graph)
            return
        self._simulate()
        if self.graph_capture:
            with wp.ScopedCapture(device=self._wp_device) as capture:
                self._simulate()
            self._graph = capture.graph

    # --- stepping ---------------------------------------------------------------------------
    def step(self, pd_targets: torch.Tensor, grip: torch.Tensor | None = None) -> torch.Tensor:
        self._check_pd_targets(pd_targets)
        self._ctrl[:, self._cols_ctrl] = pd_targets.detach().reshape(self.num_envs, -1).to(self._ctrl)
        self._ctrl[:, self._cols_grip_ctrl] = self._grip_controls(grip).to(self._ctrl)
        self._on_warp(self._simulate_step)
        qvel_ok = (self._qvel.abs() <= self.max_joint_velocity).all(dim=1)  # False for NaN too
        diverged = ~(qvel_ok & torch.isfinite(self._qpos).all(dim=1) & torch.isfinite(self._sensordata).all(dim=1))
        self._set_default_where(diverged)
        dropped = (self._overflow & DROPPED) != 0
        self._counts += torch.stack((diverged.sum(), dropped.sum()))
        self._overflow.zero_()
        self._invalidate()
        return diverged

    def set_root_wrench(self, wrench: torch.Tensor) -> None:
        self._check_root_wrench(wrench)
        self._xfrc[:, self._roots] = wrench.detach().to(self._xfrc)

    # --- resetting --------------------------------------------------------------------------
    def _clear_worlds(self, env_ids: torch.Tensor) -> None:
        """Time, solver warm start and sensors of `env_ids` zeroed (the sensors read 0 until the next step)."""
        self._time[env_ids] = 0.0
        self._warmstart[env_ids] = 0.0
        self._sensordata[env_ids] = 0.0

    def _clear_where(self, mask: torch.Tensor) -> None:
        """`_clear_worlds` of the worlds where the (E,) bool `mask` is set, without a host sync."""
        for array in (self._warmstart, self._sensordata):
            array.masked_fill_(mask[:, None], 0.0)
        self._time.masked_fill_(mask, 0.0)

    def _set_default_where(self, mask: torch.Tensor) -> None:
        """The worlds where the (E,) bool `mask` is set back to the default state, without a host sync."""
        self._qpos.copy_(torch.where(mask[:, None], self._default_qpos, self._qpos))
        self._qvel.masked_fill_(mask[:, None], 0.0)
        self._clear_where(mask)

    def _state_columns(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(array, its columns) of root qpos, joint qpos, root qvel and joint qvel: `_generalized_coordinates` order."""
        return list(zip((self._qpos, self._qpos, self._qvel, self._qvel),
                        (self._cols_qpos_root, self._cols_qpos_joint, self._cols_qvel_root, self._cols_qvel_joint)))

    def reset_worlds(self, env_ids: torch.Tensor, state: PersonState) -> None:
        env_ids, generalized = self._checked_reset(env_ids, state)
        env_ids = env_ids.to(self.device)
        for (array, cols), value in zip(self._state_columns(), generalized):
            array[env_ids[:, None, None], cols] = value.to(array)
        self._clear_worlds(env_ids)
        self._invalidate()

    def reset_where(self, mask: torch.Tensor, state: PersonState) -> None:
        """`reset_worlds` of the worlds where `mask` is set, written through the mask (no host sync). The state's
        values are not checked here: a non-finite one diverges in the next step, which resets that world to the
        default state and counts it in `diverged_total`."""
        mask = self._checked_mask(mask, state)
        for (array, cols), value in zip(self._state_columns(), self._generalized_coordinates(state)):
            array[:, cols] = torch.where(mask[:, None, None], value.to(array), array[:, cols])
        self._clear_where(mask)
        self._invalidate()

    def place_furniture(self, env_ids: torch.Tensor, poses: torch.Tensor) -> None:
        env_ids = self._check_env_ids(env_ids).to(self.device)
        poses = self._checked_furniture(poses, env_ids.numel()).to(self._mocap_pos)
        self._mocap_pos[env_ids[:, None], self._furniture] = poses[..., :3]
        self._mocap_quat[env_ids[:, None], self._furniture] = poses[..., 3:]

    def place_furniture_where(self, mask: torch.Tensor, poses: torch.Tensor) -> None:
        """`place_furniture` of the worlds where `mask` is set, written through the mask (no host sync)."""
        mask = self._checked_furniture_mask(mask, poses)[:, None, None]
        poses = poses.to(self._mocap_pos)
        for array, value in ((self._mocap_pos, poses[..., :3]), (self._mocap_quat, poses[..., 3:])):
            array[:, self._furniture] = torch.where(mask, value, array[:, self._furniture])

    def reset_to_default(self, env_ids: torch.Tensor) -> None:
        env_ids = self._check_env_ids(env_ids).to(self.device)
        self._qpos[env_ids] = self._default_qpos
        self._qvel[env_ids] = 0.0
        self._clear_worlds(env_ids)
        self._invalidate()

    def set_world_params(self, env_ids, mass_scale, kp_scale, kd_scale) -> None:
        """Scaled body masses and inertias and actuator gains in the worlds `env_ids`, then `set_const` (all worlds)."""
        env_ids, scales = self._checked_scales(env_ids, mass_scale, kp_scale, kd_scale)
        env_ids = env_ids.to(self.device)
        mass, kp, kd = (s.to(self.device, torch.float32) for s in scales)
        body_scale = torch.ones_like(self._body_mass[env_ids])
        body_scale[:, self._bodies] = mass.repeat_interleave(self.num_bodies, dim=1)
        kp_act, kd_act = (torch.ones_like(self._gainprm[env_ids, :, 0]) for _ in range(2))
        kp_act[:, self._cols_ctrl] = kp.repeat_interleave(self.num_dofs, dim=1)
        kd_act[:, self._cols_ctrl] = kd.repeat_interleave(self.num_dofs, dim=1)
        base = self._base
        self._body_mass[env_ids] = base["body_mass"] * body_scale
        self._body_inertia[env_ids] = base["body_inertia"] * body_scale[..., None]
        self._gainprm[env_ids, :, 0] = base["gainprm"][:, 0] * kp_act
        self._biasprm[env_ids, :, 1] = base["biasprm"][:, 1] * kp_act
        self._biasprm[env_ids, :, 2] = base["biasprm"][:, 2] * kd_act
        self._on_warp(lambda: mjw.set_const(self._wp_model, self._wp_data))

    # --- reading ----------------------------------------------------------------------------
    def _invalidate(self) -> None:
        super()._invalidate()
        self._generalized = None

    def generalized_state(self):
        if self._generalized is None:
            self._generalized = (self._qpos[:, self._cols_qpos_root], self._qpos[:, self._cols_qpos_joint],
                                 self._qvel[:, self._cols_qvel_root], self._qvel[:, self._cols_qvel_joint])
        return self._generalized

    def actuator_torque(self) -> torch.Tensor:
        return self._sensordata[:, self._cols_torque]

    def hand_contact_force(self) -> torch.Tensor:
        return self._sensordata[:, self._cols_hand]

    def foot_contact_force(self) -> torch.Tensor:
        return self._sensordata[:, self._cols_foot]

    def partner_contact_force(self) -> torch.Tensor:
        return self._partner_force(self._sensordata)

    def grip_force(self) -> torch.Tensor:
        return self._grip_pull(self._sensordata)

    def grip_command(self) -> torch.Tensor:
        return self._per_hand(self._ctrl[:, self._cols_grip_ctrl])

    def world_state(self, env_id: int) -> tuple[np.ndarray, np.ndarray]:
        """World `env_id`'s state as a mjSTATE_FULLPHYSICS vector of the host `self.model` and its controls (nu,),
        copied to the host (e.g. to render it: `mj_setState`, `ctrl`, `mj_forward`), as `CpuBackend.world_state`."""
        data = mujoco.MjData(self.model)
        data.time = float(self._time[env_id])
        data.qpos[:] = self._qpos[env_id].cpu().numpy()
        data.qvel[:] = self._qvel[env_id].cpu().numpy()
        state = np.empty(mujoco.mj_stateSize(self.model, FULL_PHYSICS))
        mujoco.mj_getState(self.model, data, state, FULL_PHYSICS)
        return state, self._ctrl[env_id].double().cpu().numpy()

    def close(self) -> None:
        self._graph = None
