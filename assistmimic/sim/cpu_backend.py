"""CPU backend: a batch of MuJoCo worlds stepped by `mujoco.rollout` in native threads.

One `rollout` call per policy step advances every world `substeps` physics steps (the GIL is
released while it runs) and returns the full physics state and sensor data of each physics step.
The last state is carried forward as the next call's initial state. Everything the caller reads
is gathered from those arrays with precomputed index tensors (no loops over worlds or bodies).
Each world's furniture (mocap bodies) is part of its per-step control vector: controls, applied body wrenches
(`xfrc_applied`, 6 per body), then mocap positions, then mocap rotations (`control_spec` CTRL | XFRC_APPLIED |
MOCAP_POS | MOCAP_QUAT).
"""

from __future__ import annotations

import copy
import os

import mujoco
import numpy as np
import torch
from mujoco import rollout

from assistmimic.mjcf.scene import SceneModel
from assistmimic.sim.backend import PersonState, SimBackend
from motion_lib.errors import UserInputError

FULL_PHYSICS = mujoco.mjtState.mjSTATE_FULLPHYSICS
CONTROLS = mujoco.mjtState.mjSTATE_CTRL | mujoco.mjtState.mjSTATE_XFRC_APPLIED
"""`rollout`'s control spec: per step the controls and the applied body wrenches (the root assist)."""
WITH_MOCAP = CONTROLS | mujoco.mjtState.mjSTATE_MOCAP_POS | mujoco.mjtState.mjSTATE_MOCAP_QUAT
"""The control spec of a scene with furniture slots: then the mocap positions and rotations too."""


class SceneLayout:
    """Where each canonical quantity lives in MuJoCo's arrays, found by name.

    Attributes (numpy int64 index arrays, agent-major):
        qpos_root (A, 7), qpos_joint (A, D): columns of qpos; qvel_root (A, 6), qvel_joint (A, D):
        columns of qvel; actuator (A, D): actuator ids; body (A, B): body ids; torque_sensor (A, D),
        hand_sensor (A, H, 3), foot_sensor (A, F, 3), partner_sensor (A, 3) (the whole body against the partner; (A, 0)
        for one person): columns of sensordata; furniture (S,): the mocap ids of
        the scene's furniture slots; per grip actuator (k of them: the hands of the persons with a grip) grip_agent,
        grip_hand (k,): its person and hand (0 left, 1 right), grip_actuator (k,): its actuator id, grip_force_sensor
        (k,), grip_contact_sensor (k, 4): columns of sensordata (its pull; its palm's contact: found, normal).
    """

    def __init__(self, model: mujoco.MjModel, scene: SceneModel):
        sk = scene.skeleton
        axes = ("x", "y", "z")
        self.qpos_root, self.qpos_joint, self.qvel_root, self.qvel_joint = [], [], [], []
        self.actuator, self.body, self.torque_sensor, self.hand_sensor, self.foot_sensor = [], [], [], [], []
        self.partner_sensor = []
        for prefix in scene.prefixes:
            root = model.joint(f"{prefix}root")
            self.qpos_root.append(np.arange(root.qposadr[0], root.qposadr[0] + 7))
            self.qvel_root.append(np.arange(root.dofadr[0], root.dofadr[0] + 6))
            hinges = [f"{prefix}{name}_{axis}" for name in sk.body_names[1:] for axis in axes]
            self.qpos_joint.append(np.array([model.joint(h).qposadr[0] for h in hinges]))
            self.qvel_joint.append(np.array([model.joint(h).dofadr[0] for h in hinges]))
            self.actuator.append(np.array([model.actuator(h).id for h in hinges]))
            self.body.append(np.array([model.body(f"{prefix}{name}").id for name in sk.body_names]))
            self.torque_sensor.append(np.array([model.sensor_adr[model.sensor(f"{h}_frc").id] for h in hinges]))
            self.hand_sensor.append(self._vector_sensors(model, [f"{prefix}hand_{n}" for n in scene.hand_bodies]))
            self.foot_sensor.append(self._vector_sensors(model, [f"{prefix}foot_{n}" for n in scene.foot_bodies]))
            partner = [f"{prefix}partner"] if len(scene.prefixes) == 2 else []
            self.partner_sensor.append(self._vector_sensors(model, partner).reshape(-1))
        for key, value in vars(self).items():
            setattr(self, key, np.stack(value))
        self.furniture = np.array([model.body_mocapid[model.body(f"furniture{i}").id]
                                   for i in range(len(scene.furniture.slots))], dtype=np.int64)
        grips = [(agent, hand) for agent, dims in enumerate(scene.grip_dims) for hand in range(dims)]
        names = [f"{scene.prefixes[agent]}grip_{'LR'[hand]}" for agent, hand in grips]
        self.grip_agent = np.array([agent for agent, _ in grips], dtype=np.int64)
        self.grip_hand = np.array([hand for _, hand in grips], dtype=np.int64)
        self.grip_actuator = np.array([model.actuator(n).id for n in names], dtype=np.int64)
        self.grip_force_sensor = np.array([model.sensor_adr[model.sensor(f"{n}_frc").id] for n in names], dtype=np.int64)
        self.grip_contact_sensor = np.array([model.sensor_adr[model.sensor(f"{n}_contact").id] + np.arange(4)
                                             for n in names], dtype=np.int64).reshape(-1, 4)

    def pd_lead_time(self, model: mujoco.MjModel) -> np.ndarray:
        """(A, D) kd / kp (seconds) of every hinge's position actuator (gainprm[0] = kp, biasprm[2] = -kd); 0 where kp
        is 0 (a limp joint has no target to lead)."""
        kp, kd = model.actuator_gainprm[self.actuator, 0], -model.actuator_biasprm[self.actuator, 2]
        return np.divide(kd, kp, out=np.zeros_like(kp), where=kp > 0)

    @staticmethod
    def _vector_sensors(model, names) -> np.ndarray:
        if not names:  # a one-person scene has no hand-vs-partner sensors
            return np.zeros((0, 3), dtype=np.int64)
        return np.stack([model.sensor_adr[model.sensor(n).id] + np.arange(3) for n in names])


class CpuBackend(SimBackend):
    """E worlds (one or two persons each) on the CPU. Tensors are float32 on the CPU."""

    def __init__(self, scene: SceneModel, num_envs: int, substeps: int = 4, nthread: int | None = None,
                 max_joint_velocity: float = 100.0):
        model = mujoco.MjModel.from_xml_string(scene.xml)
        super().__init__(scene.skeleton, num_envs, policy_dt=substeps * model.opt.timestep, device="cpu",
                         n_agents=len(scene.prefixes))
        if substeps < 1:
            raise UserInputError(f"sim.substeps must be at least 1, got {substeps}")
        self.scene = scene
        self.furniture = scene.furniture
        self.model = model
        self.substeps = substeps
        self.max_joint_velocity = max_joint_velocity
        self.layout = SceneLayout(model, scene)
        self.pd_lead_time = torch.as_tensor(self.layout.pd_lead_time(model), dtype=torch.float32)
        self.nthread = (os.cpu_count() or 1) if nthread is None else max(0, int(nthread))
        self._pool = rollout.Rollout(nthread=self.nthread)
        self._datas = [mujoco.MjData(model) for _ in range(max(1, self.nthread))]
        self._models = [model] * num_envs

        nstate = mujoco.mj_stateSize(model, FULL_PHYSICS)
        default = mujoco.MjData(model)
        mujoco.mj_forward(model, default)
        self.default_state = np.empty(nstate)  # FULLPHYSICS state of one world standing in the rest pose
        mujoco.mj_getState(model, default, self.default_state, FULL_PHYSICS)
        self._state = np.tile(self.default_state, (num_envs, 1))
        self._state_out = np.empty((num_envs, substeps, nstate))
        self._sensor_out = np.zeros((num_envs, substeps, model.nsensordata))
        self._control_spec = WITH_MOCAP if model.nmocap else CONTROLS
        self._ctrl = np.zeros((num_envs, substeps, mujoco.mj_stateSize(model, self._control_spec)))
        mujoco.mj_getState(model, default, self._ctrl[0, 0], self._control_spec)  # mocap bodies where the model has them
        self._ctrl[:] = self._ctrl[0, 0]

        # Column offsets inside a FULLPHYSICS state vector: [time, qpos, qvel, act, ...].
        qpos0, qvel0 = 1, 1 + model.nq
        lay = self.layout
        self._cols_qpos_root = torch.as_tensor(qpos0 + lay.qpos_root)
        self._cols_qpos_joint = torch.as_tensor(qpos0 + lay.qpos_joint)
        self._cols_qvel_root = torch.as_tensor(qvel0 + lay.qvel_root)
        self._cols_qvel_joint = torch.as_tensor(qvel0 + lay.qvel_joint)
        self._cols_qvel = slice(qvel0, qvel0 + model.nv)
        self._cols_ctrl = torch.as_tensor(lay.actuator.reshape(-1))
        xfrc0 = model.nu  # control columns: [ctrl, xfrc_applied (nbody, 6), mocap_pos, mocap_quat]
        mocap0 = xfrc0 + 6 * model.nbody
        self._cols_root_wrench = torch.as_tensor(xfrc0 + 6 * lay.body[:, :1] + np.arange(6))  # (A, 6)
        self._cols_mocap = torch.as_tensor(np.concatenate([  # (S, 7) control columns of each slot's position, rotation
            mocap0 + 3 * lay.furniture[:, None] + np.arange(3),
            mocap0 + 3 * model.nmocap + 4 * lay.furniture[:, None] + np.arange(4)], axis=1))
        self._state_t = torch.from_numpy(self._state)
        self._last_sensor_t = torch.from_numpy(self._sensor_out[:, -1])  # views, refreshed in place
        self._ctrl_t = torch.from_numpy(self._ctrl)
        self._cols_torque = torch.as_tensor(lay.torque_sensor)
        self._cols_hand = torch.as_tensor(lay.hand_sensor)
        self._cols_foot = torch.as_tensor(lay.foot_sensor)
        self._cols_partner = torch.as_tensor(lay.partner_sensor)
        self._set_grip_layout(scene.grip_dims, lay)
        self._generalized = None

    # --- stepping ---------------------------------------------------------------------------
    def step(self, pd_targets: torch.Tensor, grip: torch.Tensor | None = None) -> torch.Tensor:
        self._check_pd_targets(pd_targets)
        self._ctrl_t[:, :, self._cols_ctrl] = pd_targets.detach().reshape(self.num_envs, 1, -1).to(torch.float64)
        self._ctrl_t[:, :, self._cols_grip_ctrl] = self._grip_controls(grip)[:, None].double()
        time_before = self._state[:, 0].copy()
        self._pool.rollout(self._models, self._datas, self._state, self._ctrl, control_spec=self._control_spec,
                           nstep=self.substeps, state=self._state_out, sensordata=self._sensor_out, skip_checks=True)
        np.copyto(self._state, self._state_out[:, -1])
        diverged = self._find_diverged(time_before)
        self._invalidate()
        if diverged.any():
            ids = torch.from_numpy(np.flatnonzero(diverged))
            self.reset_to_default(ids)
            self._sensor_out[ids.numpy()] = 0.0
            self.diverged_total += int(ids.numel())
        return torch.from_numpy(diverged)

    def set_root_wrench(self, wrench: torch.Tensor) -> None:
        """Written into every substep's control vector, which `rollout` applies each physics step."""
        self._check_root_wrench(wrench)
        self._ctrl_t[:, :, self._cols_root_wrench] = wrench.detach()[:, None].double()

    def _find_diverged(self, time_before: np.ndarray) -> np.ndarray:
        """NaN/inf, runaway velocity, or MuJoCo's own auto-reset (which rewinds time to 0)."""
        state = self._state
        expected_time = time_before + self.substeps * self.model.opt.timestep
        bad = ~np.isfinite(state).all(axis=1)
        bad |= np.abs(np.nan_to_num(state[:, self._cols_qvel], nan=np.inf)).max(axis=1) > self.max_joint_velocity
        bad |= state[:, 0] < expected_time - 0.5 * self.model.opt.timestep
        return bad

    # --- resetting --------------------------------------------------------------------------
    def reset_worlds(self, env_ids: torch.Tensor, state: PersonState) -> None:
        env_ids, generalized = self._checked_reset(env_ids, state)
        rows = self._state_t[env_ids]
        rows[:, 0] = 0.0
        for cols, value in zip((self._cols_qpos_root, self._cols_qpos_joint, self._cols_qvel_root, self._cols_qvel_joint),
                               generalized):
            rows[:, cols] = value.double()
        self._state_t[env_ids] = rows
        self._sensor_out[env_ids.numpy()] = 0.0
        self._invalidate()

    def place_furniture(self, env_ids: torch.Tensor, poses: torch.Tensor) -> None:
        """Written into the worlds' control vectors (every substep's), which `rollout` applies each physics step."""
        env_ids = self._check_env_ids(env_ids)
        poses = self._checked_furniture(poses, env_ids.numel())
        # indices (n, 1, 1) and (1, S, 7) around the substep slice: the indexed block is (n, S, 7, substeps)
        self._ctrl_t[env_ids[:, None, None], :, self._cols_mocap[None]] = poses.detach()[..., None].double()

    def reset_to_default(self, env_ids: torch.Tensor) -> None:
        env_ids = self._check_env_ids(env_ids).numpy()
        self._state[env_ids] = self.default_state
        self._sensor_out[env_ids] = 0.0
        self._invalidate()

    def set_world_params(self, env_ids, mass_scale, kp_scale, kd_scale) -> None:
        """Each changed world gets its own MjModel copy (rollout takes one model per world)."""
        env_ids, scales = self._checked_scales(env_ids, mass_scale, kp_scale, kd_scale)
        base, lay = self.model, self.layout
        for row, env in enumerate(env_ids.tolist()):
            mass, kp, kd = (s[row].numpy() for s in scales)
            if np.all(mass == 1) and np.all(kp == 1) and np.all(kd == 1):
                self._models[env] = base
                continue
            m = copy.deepcopy(base)
            for agent in range(self.n_agents):
                bodies, acts = lay.body[agent], lay.actuator[agent]
                m.body_mass[bodies] = base.body_mass[bodies] * mass[agent]
                m.body_inertia[bodies] = base.body_inertia[bodies] * mass[agent]
                m.actuator_gainprm[acts, 0] = base.actuator_gainprm[acts, 0] * kp[agent]
                m.actuator_biasprm[acts, 1] = base.actuator_biasprm[acts, 1] * kp[agent]
                m.actuator_biasprm[acts, 2] = base.actuator_biasprm[acts, 2] * kd[agent]
            mujoco.mj_setConst(m, mujoco.MjData(m))
            self._models[env] = m

    # --- reading ----------------------------------------------------------------------------
    def _invalidate(self) -> None:
        super()._invalidate()
        self._generalized = None

    def generalized_state(self):
        if self._generalized is None:
            s = self._state_t
            self._generalized = tuple(
                s[:, cols].float() for cols in
                (self._cols_qpos_root, self._cols_qpos_joint, self._cols_qvel_root, self._cols_qvel_joint)
            )
        return self._generalized

    def actuator_torque(self) -> torch.Tensor:
        return self._last_sensor_t[:, self._cols_torque].float()

    def hand_contact_force(self) -> torch.Tensor:
        return self._last_sensor_t[:, self._cols_hand].float()

    def foot_contact_force(self) -> torch.Tensor:
        return self._last_sensor_t[:, self._cols_foot].float()

    def partner_contact_force(self) -> torch.Tensor:
        return self._partner_force(self._last_sensor_t).float()

    def grip_force(self) -> torch.Tensor:
        return self._grip_pull(self._last_sensor_t).float()

    def grip_command(self) -> torch.Tensor:
        return self._per_hand(self._ctrl_t[:, -1, self._cols_grip_ctrl]).float()

    def world_state(self, env_id: int) -> tuple[np.ndarray, np.ndarray]:
        """World `env_id`'s MuJoCo state (mjSTATE_FULLPHYSICS vector of `self.model`) and the controls (nu,)
        of its last step, copied (e.g. to render the world: `mj_setState`, `ctrl`, `mj_forward`)."""
        return self._state[env_id].copy(), self._ctrl[env_id, -1, :self.model.nu].copy()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
