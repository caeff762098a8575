"""The narrow simulator interface every backend implements (CPU `mujoco.rollout`, GPU `mujoco_warp`).

Shapes: E worlds, A = 2 agents (supporter 0, recipient 1), B bodies and D = 3 (B - 1) hinge DoF per
person, H hand/finger bodies and F foot bodies per person, S furniture slots per world, 2 grip hands (left,
right) per person. All tensors are in the skeleton's canonical body order; a backend converts from MuJoCo's
indices at its boundary. World frame z-up.
Body states are computed from the joint-space state with the skeleton's forward kinematics, so
every backend reports them identically.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from functools import cached_property

import torch

from assistmimic.mjcf.furniture import SceneFurniture
from motion_lib.errors import UserInputError
from motion_lib.kinematics import ForwardKinematics
from motion_lib.rotations import matrix_to_quat, quat_to_matrix
from motion_lib.skeleton import Skeleton


@dataclass
class PersonState:
    """Joint-space state of both persons in n worlds (world frame)."""

    root_pos: torch.Tensor  # (n, A, 3)
    root_quat: torch.Tensor  # (n, A, 4) w, x, y, z
    joint_pos: torch.Tensor  # (n, A, D) hinge angles (rad)
    root_lin_vel: torch.Tensor  # (n, A, 3) world frame
    root_ang_vel: torch.Tensor  # (n, A, 3) world frame
    joint_vel: torch.Tensor  # (n, A, D)

    def select(self, env_ids: torch.Tensor) -> PersonState:
        """The states of the worlds `env_ids` alone."""
        return PersonState(*(getattr(self, f.name)[env_ids] for f in fields(self)))


@dataclass
class BodyState:
    """Global state of every body of both persons in all worlds."""

    pos: torch.Tensor  # (E, A, B, 3) body origin (joint) positions, world frame
    rot: torch.Tensor  # (E, A, B, 3, 3) body-to-world rotation matrices
    lin_vel: torch.Tensor  # (E, A, B, 3) body origin velocities, world frame
    ang_vel: torch.Tensor  # (E, A, B, 3) angular velocities, world frame

    @cached_property
    def quat(self) -> torch.Tensor:
        """(E, A, B, 4) body-to-world rotations as quaternions (w, x, y, z), computed on first use."""
        return matrix_to_quat(self.rot)

    def select(self, env_ids: torch.Tensor) -> BodyState:
        """The states of the worlds `env_ids` (n,) alone."""
        return BodyState(self.pos[env_ids], self.rot[env_ids], self.lin_vel[env_ids], self.ang_vel[env_ids])


class SimBackend(ABC):
    """A batch of E worlds of A persons each (A = 2: supporter and recipient; A = 1: the prior's scene) stepped together."""

    def __init__(self, skeleton: Skeleton, num_envs: int, policy_dt: float, device: torch.device | str, n_agents: int = 2):
        if not isinstance(num_envs, int) or num_envs < 1:
            raise UserInputError(f"the number of worlds must be a positive integer, got {num_envs!r}")
        self.skeleton = skeleton
        self.n_agents = n_agents
        self.num_envs = num_envs
        self.policy_dt = policy_dt
        self.device = torch.device(device)
        self.num_bodies = skeleton.num_bodies
        self.num_dofs = skeleton.num_dofs
        self.diverged_total = 0
        """Worlds reset because they diverged, since construction."""
        self.overflow_total = 0
        """World-steps (policy steps x worlds) in which contacts or constraint rows were dropped because a
        fixed-size buffer was full, since construction; always 0 where buffers grow (the CPU backend)."""
        self._fk = ForwardKinematics(skeleton, self.device, torch.float32)
        self._body_state: BodyState | None = None
        self.furniture = SceneFurniture()
        """The scene's furniture slots (S of them) and the furniture of clips that have none; set by a backend
        that builds a scene."""
        self.grip_dims: tuple[int, ...] = (0,) * n_agents
        """Per person its grip actions (2: left and right hand, or 0: no grip); set by `_set_grip_layout`."""
        self.pd_lead_time: torch.Tensor | None = None
        """(A, D) kd / kp (seconds) of every hinge's PD actuator as built (per-world `set_world_params` factors scale
        kp and kd alike, or nearly); set by a backend that builds a scene (`SceneLayout.pd_lead_time`)."""

    # --- stepping and resetting -------------------------------------------------------------
    @abstractmethod
    def step(self, pd_targets: torch.Tensor, grip: torch.Tensor | None = None) -> torch.Tensor:
        """Advance one policy step with PD targets (E, A, D) in radians and grip commands `grip` (E, A, 2) of the left
        and right hands (clamped to [0, 1]: the fraction of `scene.grip.max_force_n`; persons without a grip ignore
        theirs; None: no hand grips).

        Returns a (E,) bool mask of worlds that diverged (NaN or runaway velocity) during the
        step; those worlds have already been reset to the default standing state and counted in
        `diverged_total`, so no NaN reaches the caller. The caller should re-initialise them.
        """

    @abstractmethod
    def set_root_wrench(self, wrench: torch.Tensor) -> None:
        """Apply `wrench` (E, A, 6): a world-frame force (N) and torque (N·m) on each person's pelvis at its centre of
        mass (MuJoCo's `xfrc_applied`), from the next step on, until set again (zeros: none). A training aid only
        (`assistmimic/envs/root_assist.py`)."""

    @abstractmethod
    def reset_worlds(self, env_ids: torch.Tensor, state: PersonState) -> None:
        """Set the worlds `env_ids` (n,) to `state` (n worlds), zeroing their time."""

    def reset_where(self, mask: torch.Tensor, state: PersonState) -> None:
        """Set the worlds where the (E,) bool `mask` is set to their rows of `state` (E worlds; the other rows are
        ignored), zeroing their time. Here by id, `reset_worlds` (finding the ids is a host sync on a GPU); the
        Warp backend writes through the mask instead."""
        env_ids = self._checked_mask(mask, state).nonzero()[:, 0]
        self.reset_worlds(env_ids, state.select(env_ids))

    @abstractmethod
    def place_furniture(self, env_ids: torch.Tensor, poses: torch.Tensor) -> None:
        """Move the furniture slots of the worlds `env_ids` (n,) to `poses` (n, S, 7): per slot its box body's position
        (x, y, z, world frame) and rotation (w, x, y, z), as `SceneFurniture.poses` makes them. The furniture stays
        there (resets and divergence leave it) until placed again."""

    def place_furniture_where(self, mask: torch.Tensor, poses: torch.Tensor) -> None:
        """`place_furniture` of the worlds where the (E,) bool `mask` is set, to their rows of `poses` (E, S, 7). Here
        by id (a host sync on a GPU); the Warp backend writes through the mask instead."""
        env_ids = self._checked_furniture_mask(mask, poses).nonzero()[:, 0]
        self.place_furniture(env_ids, poses[env_ids])

    @abstractmethod
    def reset_to_default(self, env_ids: torch.Tensor) -> None:
        """Put the worlds `env_ids` back into the model's rest (standing T-pose) state."""

    @abstractmethod
    def set_world_params(
        self, env_ids: torch.Tensor, mass_scale: torch.Tensor, kp_scale: torch.Tensor, kd_scale: torch.Tensor
    ) -> None:
        """Per-world physical parameters, each (n, A), relative to the scene as built."""

    # --- reading the state ------------------------------------------------------------------
    @abstractmethod
    def generalized_state(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(root qpos (E, A, 7) pos + quat, joint_pos (E, A, D), root qvel (E, A, 6), joint_vel (E, A, D)).

        Root qvel follows MuJoCo's free joint: linear velocity in the world frame, angular
        velocity in the root body's frame.
        """

    @abstractmethod
    def actuator_torque(self) -> torch.Tensor:
        """(E, A, D) torque each actuator applied in the last physics step (N m), after clamping."""

    @abstractmethod
    def hand_contact_force(self) -> torch.Tensor:
        """(E, A, H, 3) net force each hand/finger body applies to the partner, world frame (N)."""

    @abstractmethod
    def foot_contact_force(self) -> torch.Tensor:
        """(E, A, F, 3) net force each foot body applies to the floor, world frame (N)."""

    @abstractmethod
    def partner_contact_force(self) -> torch.Tensor:
        """(E, A, 3) net contact force each person's whole body (every geom of it, palms included) applies to the
        partner, world frame (N; compression only: a grip's pull is `grip_force`); 0 in a one-person scene."""

    def grip_force(self) -> torch.Tensor:
        """(E, A, 2, 3) force each person's left and right grip pulls the partner with in the last physics step,
        world frame (N); 0 for hands without a grip or not touching the partner (see `_grip_pull`). Here: a
        backend without grips."""
        return torch.zeros(self.num_envs, self.n_agents, 2, 3, device=self.device)

    def grip_command(self) -> torch.Tensor:
        """(E, A, 2) the grip commands in [0, 1] of the last step (0 for hands without a grip). Here: a backend
        without grips."""
        return torch.zeros(self.num_envs, self.n_agents, 2, device=self.device)

    def joint_pos(self) -> torch.Tensor:
        """(E, A, D) hinge angles (rad)."""
        return self.generalized_state()[1]

    def joint_vel(self) -> torch.Tensor:
        """(E, A, D) hinge velocities (rad/s)."""
        return self.generalized_state()[3]

    def person_state(self) -> PersonState:
        """The current joint-space state in the form `reset_worlds` takes."""
        qpos_root, joint_pos, qvel_root, joint_vel = self.generalized_state()
        root_ang_vel_w = (quat_to_matrix(qpos_root[..., 3:7]) @ qvel_root[..., 3:, None])[..., 0]
        return PersonState(
            root_pos=qpos_root[..., :3], root_quat=qpos_root[..., 3:7], joint_pos=joint_pos,
            root_lin_vel=qvel_root[..., :3], root_ang_vel=root_ang_vel_w, joint_vel=joint_vel,
        )

    def body_state(self) -> BodyState:
        """Positions, rotations and velocities of all bodies, from forward kinematics (cached per step)."""
        if self._body_state is None:
            qpos_root, joint_pos, qvel_root, joint_vel = self.generalized_state()
            n = self.num_envs * self.n_agents
            pos, rot, lin, ang = self._fk.states_from_generalized(
                qpos_root.reshape(n, 7), joint_pos.reshape(n, -1), qvel_root.reshape(n, 6), joint_vel.reshape(n, -1)
            )
            shape = (self.num_envs, self.n_agents, self.num_bodies)
            self._body_state = BodyState(
                pos=pos.reshape(shape + (3,)), rot=rot.reshape(shape + (3, 3)),
                lin_vel=lin.reshape(shape + (3,)), ang_vel=ang.reshape(shape + (3,)),
            )
        return self._body_state

    def _invalidate(self) -> None:
        self._body_state = None

    # --- grips ------------------------------------------------------------------------------
    def _set_grip_layout(self, grip_dims: tuple[int, ...], layout) -> None:
        """The scene's grips (`SceneModel.grip_dims`) and where their k actuators and sensors live (a `SceneLayout`'s
        `grip_*` index arrays), as tensors on the device."""
        self.grip_dims = grip_dims

        def index(array) -> torch.Tensor:
            return torch.as_tensor(array, dtype=torch.long, device=self.device)

        self._grip_agent, self._grip_hand = index(layout.grip_agent), index(layout.grip_hand)
        self._cols_grip_ctrl = index(layout.grip_actuator)
        self._cols_grip_force, self._cols_grip_contact = index(layout.grip_force_sensor), index(layout.grip_contact_sensor)

    def _grip_controls(self, grip: torch.Tensor | None) -> torch.Tensor:
        """(E, k) the controls of the k grip actuators: `step`'s `grip` (E, A, 2) checked, clamped to [0, 1]."""
        if grip is None:
            return torch.zeros(self.num_envs, self._cols_grip_ctrl.numel(), device=self.device)
        if tuple(grip.shape) != (self.num_envs, self.n_agents, 2):
            raise UserInputError(f"grip must have shape {(self.num_envs, self.n_agents, 2)} (worlds, persons, hands), "
                                 f"got {tuple(grip.shape)}")
        return grip.detach().to(self.device, torch.float32)[:, self._grip_agent, self._grip_hand].clamp(0.0, 1.0)

    def _partner_force(self, sensordata: torch.Tensor) -> torch.Tensor:
        """(E, A, 3) `partner_contact_force` from the sensors (E, nsensordata) at the `SceneLayout`'s
        `partner_sensor` columns (A, 3), held in `self._cols_partner`; zeros where the scene has one person."""
        if self._cols_partner.numel() == 0:
            return sensordata.new_zeros(sensordata.shape[0], self.n_agents, 3)
        return sensordata[:, self._cols_partner]

    def _per_hand(self, values: torch.Tensor) -> torch.Tensor:
        """(E, A, 2, ...) from values (E, k, ...) of the k grip actuators; 0 for hands without a grip."""
        out = values.new_zeros((values.shape[0], self.n_agents, 2) + tuple(values.shape[2:]))
        out[:, self._grip_agent, self._grip_hand] = values
        return out

    def _grip_pull(self, sensordata: torch.Tensor) -> torch.Tensor:
        """(E, A, 2, 3) each grip's pull on the partner from the sensors (E, nsensordata): the adhesion actuator's
        force (N) against the normal of its palm's nearest contact (which points from the palm to the partner), 0
        without a contact. MuJoCo splits that force evenly over the palm's contacts along their own normals; a capsule
        palm has one or two contacts whose normals nearly agree, so the nearest one's normal stands for their mean."""
        contact = sensordata[:, self._cols_grip_contact]  # (E, k, 4): found, normal (x, y, z)
        magnitude = sensordata[:, self._cols_grip_force] * (contact[..., 0] > 0)
        return self._per_hand(-magnitude[..., None] * contact[..., 1:])

    def _check_env_ids(self, env_ids: torch.Tensor) -> torch.Tensor:
        env_ids = torch.as_tensor(env_ids, dtype=torch.long).reshape(-1)
        if bool(self._ids_out_of_range(env_ids)):
            raise UserInputError(f"world ids must lie in [0, {self.num_envs}), got {env_ids.tolist()}")
        return env_ids

    def _ids_out_of_range(self, env_ids: torch.Tensor) -> torch.Tensor:
        """() bool tensor on env_ids' device: some id lies outside [0, num_envs) (no host sync)."""
        return ((env_ids < 0) | (env_ids >= self.num_envs)).any()

    def _check_pd_targets(self, pd_targets: torch.Tensor) -> None:
        expected = (self.num_envs, self.n_agents, self.num_dofs)
        if tuple(pd_targets.shape) != expected:
            raise UserInputError(f"pd_targets must have shape {expected}, got {tuple(pd_targets.shape)}")

    def _check_root_wrench(self, wrench: torch.Tensor) -> None:
        expected = (self.num_envs, self.n_agents, 6)
        if tuple(wrench.shape) != expected:
            raise UserInputError(f"root wrench must have shape {expected}, got {tuple(wrench.shape)}")

    def _checked_reset(self, env_ids: torch.Tensor, state: PersonState) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """`env_ids` (n,) checked, and `state` checked and turned into generalized coordinates (`_generalized_coordinates`)."""
        env_ids = torch.as_tensor(env_ids, dtype=torch.long).reshape(-1)
        values = self._state_fields(state, env_ids.numel())
        # One host sync for all value checks (a reset happens most steps); the message is worked out only on failure.
        not_finite = [~torch.isfinite(value).all() for value in values.values()]
        if bool(torch.stack([self._ids_out_of_range(env_ids).to(not_finite[0].device), *not_finite]).any()):
            self._check_env_ids(env_ids)
            bad = next(name for name, flag in zip(values, not_finite) if flag)
            raise UserInputError(f"reset state '{bad}' contains NaN or inf")
        return env_ids, self._generalized_coordinates(state)

    def _checked_mask(self, mask: torch.Tensor, state: PersonState) -> torch.Tensor:
        """`reset_where`'s (E,) bool `mask` on this backend's device, its shape and the state's checked (not the
        state's values: that reads a value back on the host)."""
        if mask.dtype != torch.bool or tuple(mask.shape) != (self.num_envs,):
            raise UserInputError(f"the reset mask must be a bool tensor of shape ({self.num_envs},), "
                                 f"got {mask.dtype} of shape {tuple(mask.shape)}")
        self._state_fields(state, self.num_envs)
        return mask.to(self.device)

    def _checked_furniture(self, poses: torch.Tensor, n: int) -> torch.Tensor:
        """`poses` checked to have the shape (n, S, 7) (not its values: that would read them on the host)."""
        expected = (n, len(self.furniture.slots), 7)
        if tuple(poses.shape) != expected:
            raise UserInputError(f"furniture poses must have shape {expected} (worlds, slots, position and rotation), "
                                 f"got {tuple(poses.shape)}")
        return poses

    def _checked_furniture_mask(self, mask: torch.Tensor, poses: torch.Tensor) -> torch.Tensor:
        """`place_furniture_where`'s (E,) bool `mask` on this backend's device, its shape and the poses' checked."""
        if mask.dtype != torch.bool or tuple(mask.shape) != (self.num_envs,):
            raise UserInputError(f"the furniture mask must be a bool tensor of shape ({self.num_envs},), "
                                 f"got {mask.dtype} of shape {tuple(mask.shape)}")
        self._checked_furniture(poses, self.num_envs)
        return mask.to(self.device)

    def _state_fields(self, state: PersonState, n: int) -> dict[str, torch.Tensor]:
        """`state`'s tensors by name, each checked to have the shape (n, A, width)."""
        widths = {"root_pos": 3, "root_quat": 4, "joint_pos": self.num_dofs, "root_lin_vel": 3, "root_ang_vel": 3,
                  "joint_vel": self.num_dofs}
        values = {name: getattr(state, name) for name in widths}
        for name, value in values.items():
            if tuple(value.shape) != (n, self.n_agents, widths[name]):
                raise UserInputError(f"reset state '{name}' must have shape {(n, self.n_agents, widths[name])}, "
                                     f"got {tuple(value.shape)}")
        return values

    @staticmethod
    def _generalized_coordinates(state: PersonState) -> tuple[torch.Tensor, ...]:
        """MuJoCo's generalized coordinates of `state` (n worlds): root qpos (n, A, 7) with a unit quaternion, joint
        qpos (n, A, D), root qvel (n, A, 6) with the angular velocity in the root body's frame, joint qvel (n, A, D),
        in the state's dtype and device."""
        quat = state.root_quat / state.root_quat.norm(dim=-1, keepdim=True)
        ang_vel_local = (quat_to_matrix(quat).transpose(-1, -2) @ state.root_ang_vel[..., None])[..., 0]
        return (torch.cat((state.root_pos, quat), dim=-1), state.joint_pos,
                torch.cat((state.root_lin_vel, ang_vel_local), dim=-1), state.joint_vel)

    def _checked_scales(self, env_ids, mass_scale, kp_scale, kd_scale) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """`env_ids` (n,) checked, and the mass, kp and kd scales as three positive (n, A) float64 tensors."""
        env_ids = self._check_env_ids(env_ids)
        scales = [torch.as_tensor(s, dtype=torch.float64).reshape(env_ids.numel(), self.n_agents)
                  for s in (mass_scale, kp_scale, kd_scale)]
        if any((s <= 0).any() for s in scales):
            raise UserInputError("per-world mass, kp and kd scales must be positive")
        return env_ids, scales

    def close(self) -> None:
        """Release threads or device memory."""
