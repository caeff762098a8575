"""What one agent's reward terms and termination rules read at a policy step, computed once per step.

`Bodies` is one person's body states; `AgentView` is one agent's view of the step: its simulated bodies,
the targets it is rewarded against (the reference, or the assist task's redirected targets), which bodies
count, its torques and joint speeds, every person's bodies and the contact forces. Frames: world (`_w`).
Shapes: N worlds, B bodies, D hinges, A persons, H hand bodies per person.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch

from assistmimic.sim.backend import BodyState
from motion_lib.errors import UserInputError
from motion_lib.motion_library import ReferenceState
from motion_lib.rotations import quat_to_matrix

SUPPORTER, RECIPIENT = 0, 1


@dataclass
class Bodies:
    """Body states of one person per world: pos, lin_vel, ang_vel (N, B, 3), rot (N, B, 3, 3), world frame."""

    pos: torch.Tensor
    rot: torch.Tensor
    lin_vel: torch.Tensor
    ang_vel: torch.Tensor

    @classmethod
    def simulated(cls, state: BodyState, agent: int) -> Bodies:
        return cls(state.pos[:, agent], state.rot[:, agent], state.lin_vel[:, agent], state.ang_vel[:, agent])

    @classmethod
    def reference(cls, ref: ReferenceState, person: int) -> Bodies:
        return cls(ref.pos[:, person], quat_to_matrix(ref.quat[:, person]), ref.lin_vel[:, person], ref.ang_vel[:, person])


@dataclass
class StepContext:
    """The quantities every agent's terms share at one step (each read from the simulator once)."""

    persons: list[Bodies]
    """Every person's simulated bodies, indexed by agent (supporter 0, recipient 1)."""
    targets: list[Bodies]
    """Per agent, the targets it tracks (the reference, or the assist task's redirected targets)."""
    tracked: torch.Tensor | None
    """(N, A, B) weights of the bodies that count in tracking terms and terminations (0: left out); None: all."""
    torque: torch.Tensor
    """(N, A, D) actuator torques (N m)."""
    joint_vel: torch.Tensor
    """(N, A, D) hinge speeds (rad/s)."""
    steps: torch.Tensor
    """(N,) policy steps since each world's episode began (1 at the first step after a reset)."""
    hand_force: torch.Tensor | None = None
    """(N, A, H, 3) force each hand body applies to the partner (N); None in a single-person scene."""
    wrist_distance: torch.Tensor | None = None
    """(N, A, 2) each person's wrists to the partner's nearest upper-body joint (m); None in a single-person scene."""
    near: torch.Tensor | None = None
    """(N, A, 2) bool: the wrist is near enough to the partner for contact facilitation; None without it."""
    grip_force: torch.Tensor | None = None
    """(N, A, H, 3) force each hand's grip puts on the partner (N), as `SimBackend.grip_force`; None in a
    single-person scene."""
    roots_close: torch.Tensor | None = None
    """(N,) bool: the two persons' roots are within the redirection distance; None in a single-person scene."""
    support_force_z: torch.Tensor | None = None
    """(N,) vertical force (N, + = up) the supporter's hands and grips put on the recipient; None in a single-person scene."""
    head: int = -1
    """Canonical index of the head body."""

    def agent(self, a: int) -> AgentView:
        return AgentView(self, a)


@dataclass
class AgentView:
    """Agent `agent`'s view of a `StepContext`: what a reward term `fn(view, **params) -> (N,)` reads."""

    ctx: StepContext
    agent: int

    @cached_property
    def body(self) -> Bodies:
        """The agent's simulated bodies."""
        return self.ctx.persons[self.agent]

    @cached_property
    def target(self) -> Bodies:
        """The agent's targets."""
        return self.ctx.targets[self.agent]

    @cached_property
    def tracked(self) -> torch.Tensor | None:
        """(N, B) weights of the bodies that count (None: every body)."""
        return None if self.ctx.tracked is None else self.ctx.tracked[:, self.agent]

    @property
    def torque(self) -> torch.Tensor:
        return self.ctx.torque[:, self.agent]

    @property
    def joint_vel(self) -> torch.Tensor:
        return self.ctx.joint_vel[:, self.agent]

    @property
    def steps(self) -> torch.Tensor:
        return self.ctx.steps

    @property
    def recipient(self) -> Bodies:
        """The recipient's simulated bodies (the two-person task only)."""
        if len(self.ctx.persons) <= RECIPIENT:
            raise UserInputError("a term about the recipient needs the two-person assist task")
        return self.ctx.persons[RECIPIENT]

    def _two_person(self, value: torch.Tensor | None, what: str) -> torch.Tensor:
        if value is None:
            raise UserInputError(f"a term that reads {what} needs the two-person assist task")
        return value[:, self.agent]

    @property
    def hand_force(self) -> torch.Tensor:
        """(N, H, 3) force the agent's hand bodies apply to the partner (N)."""
        return self._two_person(self.ctx.hand_force, "hand contact forces")

    @property
    def wrist_distance(self) -> torch.Tensor:
        """(N, 2) the agent's wrists to the partner's nearest upper-body joint (m)."""
        return self._two_person(self.ctx.wrist_distance, "wrist distances")

    @property
    def support_force_z(self) -> torch.Tensor:
        """(N,) vertical force (N, + = up) the supporter's hands and grips put on the recipient."""
        if self.ctx.support_force_z is None:
            raise UserInputError("a term that reads the support force needs the two-person assist task")
        return self.ctx.support_force_z

    @property
    def near(self) -> torch.Tensor:
        """(N, 2) bool: the agent's wrists are near the partner."""
        return self._two_person(self.ctx.near, "hand proximity")
