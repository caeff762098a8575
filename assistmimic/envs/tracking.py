"""Motion tracking: each agent's humanoid follows its person of a reference clip (PHC's task).

A worlds' agents track persons 0..A-1 of the same clip (A = 1 for the single-person prior; the
two-person assist task is the `task` component the env holds, `assistmimic/envs/assist.py`). Per policy
step, top to bottom in `step`: actions -> PD targets (`pd_action_scale` · action, plus the reference's hinge
angles with `residual_actions`, led by kd/kp times their speeds with `velocity_feedforward`) and grip commands
(`envs/grip.py`), physics, the step context (`task.context`:
targets, tracked bodies, torques, forces), each agent's configured reward terms (`envs/rewards.py`) mixed by the task, terminations
(divergence, or a configured rule of `envs/terminations.py`), truncations (clip end, `max_episode_steps`),
automatic reference-state resets of ended worlds, and observations built against the task's targets one step
ahead (where the policy should go next).

Every tensor lives on `backend.device` (the motion library and the generator must be there too). With
`sync_free` (the default on a GPU) a step never waits for the host: ended worlds are reset through a mask, with a
start drawn for every world. Without it (the default on a CPU, where that extra work costs more than it saves)
`_ended_worlds` finds the ended worlds' ids, which the backend's `reset_worlds` takes.
"""

from __future__ import annotations

from functools import cached_property

import torch

from assistmimic.envs.base import StepResult, VecEnv
from assistmimic.envs.config import TrackingEnvConfig
from assistmimic.envs.furniture import FurnitureTable
from assistmimic.envs.grip import split_actions
from assistmimic.envs.observations import amp_features, self_observation, tracking_observation
from assistmimic.envs.reference_state import HingeTable, reference_person_state
from assistmimic.envs.rewards import body_pos_error
from assistmimic.envs.root_assist import RootAssist
from assistmimic.envs.schedule import linear_decay
from assistmimic.envs.step_context import Bodies
from assistmimic.envs.task import TrackingTask
from assistmimic.envs.term_set import RewardSet, TerminationSet
from assistmimic.mjcf.humanoid import hinge_ranges, pd_action_scale
from assistmimic.sim.backend import BodyState, SimBackend
from motion_lib.clip import ROLES
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary, draw_one_per_row
from motion_lib.rotations import quat_to_matrix


def same_device(a: torch.device, b: torch.device) -> bool:
    """`a` and `b` name the same device ("cuda" and "cuda:0" do, taking an index left out as the current one's)."""
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def check_devices(backend: SimBackend, library: MotionLibrary, generator: torch.Generator | None) -> None:
    """The library and the generator sit on the backend's device (one clear error, not a failure deep in a step)."""
    if not same_device(library.device, backend.device):
        raise UserInputError(f"the motion library is on {library.device} but the simulator's tensors on {backend.device}; "
                             f"build it with MotionLibrary(clips, backend.device) (or library.to(backend.device))")
    if generator is not None and not same_device(generator.device, backend.device):
        raise UserInputError(f"the environment's random generator is on {generator.device} but the simulator's tensors "
                             f"on {backend.device}; create it with torch.Generator(device=backend.device)")


class TrackingEnv(VecEnv):
    """`backend.num_envs` worlds tracking clips of `library` (see the module docstring)."""

    def __init__(self, backend: SimBackend, library: MotionLibrary, cfg: TrackingEnvConfig,
                 generator: torch.Generator | None = None, task: TrackingTask | None = None):
        if library.num_persons != backend.n_agents:
            raise UserInputError(
                f"the clips hold {library.num_persons} person(s) but the scene has {backend.n_agents}; "
                f"use {'single' if backend.n_agents == 1 else 'two'}-person clips"
            )
        if library.skeleton.name != backend.skeleton.name:
            raise UserInputError(f"the clips use the {library.skeleton.name} skeleton but the robot is {backend.skeleton.name}")
        check_devices(backend, library, generator)
        if cfg.velocity_feedforward and not cfg.residual_actions:
            raise UserInputError("env.velocity_feedforward leads the reference's joint angles that residual PD targets "
                                 "follow; it needs env.residual_actions=true")
        self.backend, self.library, self.cfg = backend, library, cfg
        self.num_envs, self.num_agents = backend.num_envs, backend.n_agents
        self.device = backend.device
        """Where every tensor of the env lives: the backend's device."""
        self.generator = generator
        self.dt = backend.policy_dt
        self.sync_free = cfg.sync_free_resets if cfg.sync_free_resets is not None else self.device.type != "cpu"
        """Steps make no host sync (`TrackingEnvConfig.sync_free_resets`)."""
        self.action_scale = torch.as_tensor(pd_action_scale(backend.skeleton), dtype=torch.float32, device=self.device)
        self.hinge_ranges = torch.as_tensor(hinge_ranges(backend.skeleton), dtype=torch.float32, device=self.device)
        library.set_velocity_smoothing(cfg.velocity_smoothing)
        library.set_clip_sampling(cfg.clip_sampling.uniform_share, cfg.clip_sampling.outcome_weight)
        self.hinges = HingeTable(library, self.hinge_ranges)
        """The clips' hinge angles and speeds, continuous in time and within the joint ranges (reset states, residual targets)."""
        self.furniture = FurnitureTable(backend, library)
        """Each clip's furniture as the scene's slot poses: a world reset to a clip gets its furniture (`envs/furniture.py`)."""
        self.task = task or TrackingTask(backend)
        """What the agents track and how their rewards mix (`envs/task.py`; the assist task: `envs/assist.py`)."""
        self.reward_sets = [RewardSet(terms, backend.skeleton, self.device)
                            for terms in self.task.reward_configs(cfg, self.num_agents)]
        """Per agent its active reward terms (`RewardSet.weights`: {term: weight})."""
        self.terminations = TerminationSet(cfg.terminations, backend.skeleton, self.device)
        self.root_assist = RootAssist(cfg.root_assist, self.num_agents, self.device)
        """The training aid holding chosen agents' pelvises (`envs/root_assist.py`); its scale follows the training."""
        self._no_wrench = torch.zeros(self.num_envs, self.num_agents, 6, device=self.device)
        """(N, A, 6) zeros: the root assist's wrench once its gains have fallen to 0."""
        self.clip_ids = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self.times = torch.zeros(self.num_envs, device=self.device)
        self.steps = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        b = backend.num_bodies
        self.observation_groups = [(1 + 3 * (b - 1) + 12 * b + 24 * b,) + self.task.extra_observation_sizes] * self.num_agents
        """Per agent, the sizes of the observation's parts (the prior's part first; see `ActorCritic.obs_dims`)."""
        self.obs_dims = [sum(groups) for groups in self.observation_groups]
        self.action_dims = [backend.num_dofs + grips for grips in backend.grip_dims]
        """Per agent: D PD actions, then 2 grip commands for an agent with a grip (`envs/grip.py`)."""
        self.amp_steps = cfg.amp_steps
        self.amp_step_dim = 13 + 3 * (b - 1)
        self.amp_history = torch.zeros(self.num_envs, self.num_agents, self.amp_steps, self.amp_step_dim, device=self.device)
        self.world_group: torch.Tensor | None = None
        """(N,) the clip group each world plays (None: every world samples from all clips); see `partition_worlds`."""
        self._group_clips = torch.zeros(0, 0, dtype=torch.long, device=self.device)
        self._group_valid = torch.zeros(0, 0, dtype=torch.bool, device=self.device)

    @property
    def weights(self) -> list[dict[str, float]]:
        """Per agent {term: weight} of the terms switched on."""
        return [reward_set.weights for reward_set in self.reward_sets]

    # --- clip groups ----------------------------------------------------------------------------
    def partition_worlds(self, groups: list[list[int]]) -> None:
        """Split the worlds into len(groups) equal consecutive blocks: block k only ever plays the clips
        `groups[k]` (clip ids of the library; drawn by the library's failure-biased weights within the group).
        Several experts trained in one batch use this: expert k owns block k. Takes effect at the next reset."""
        k = len(groups)
        if k < 1 or self.num_envs % k:
            raise UserInputError(f"{self.num_envs} worlds do not split into {k} equal clip groups; "
                                 f"use a multiple of {max(k, 1)} worlds")
        if any(not group for group in groups):
            raise UserInputError("every clip group needs at least one clip")
        flat = [c for group in groups for c in group]
        if min(flat) < 0 or max(flat) >= self.library.num_clips:
            raise UserInputError(f"clip ids must lie in [0, {self.library.num_clips}), got {sorted(set(flat))}")
        width = max(len(group) for group in groups)
        self._group_clips = torch.tensor([group + [group[0]] * (width - len(group)) for group in groups], device=self.device)
        self._group_valid = torch.tensor([[i < len(group) for i in range(width)] for group in groups], device=self.device)
        self.world_group = self._all_worlds // (self.num_envs // k)

    @property
    def num_groups(self) -> int:
        """Number of clip groups (1 without `partition_worlds`)."""
        return 1 if self.world_group is None else self._group_clips.shape[0]

    def _sample_clip_ids(self, env_ids: torch.Tensor) -> torch.Tensor:
        """(n,) clips for the worlds `env_ids`: from all clips, or from each world's group."""
        if self.world_group is None:
            return self.library.sample_clip_ids(env_ids.numel(), self.generator)
        group = self.world_group[env_ids]
        weights = self.library.sampling_weights()[self._group_clips[group]] * self._group_valid[group]
        return self._group_clips[group, draw_one_per_row(weights, self.generator)]

    # --- resets -------------------------------------------------------------------------------
    def reset(self) -> list[torch.Tensor]:
        self._reset(self._all_worlds)
        return self._observations(self.backend.body_state())

    def start_clips(self, clip_ids: torch.Tensor) -> list[torch.Tensor]:
        """Put world i at the start of clip `clip_ids[i]` (for evaluation); returns the observations."""
        clip_ids = torch.as_tensor(clip_ids, dtype=torch.long, device=self.device)
        if clip_ids.shape != (self.num_envs,):
            raise UserInputError(f"start_clips needs one clip id per world ({self.num_envs}), got shape {tuple(clip_ids.shape)}")
        self._reset(self._all_worlds, clip_ids, torch.zeros(self.num_envs, device=self.device))
        return self._observations(self.backend.body_state())

    def _reset(self, env_ids: torch.Tensor, clip_ids: torch.Tensor | None = None, times: torch.Tensor | None = None) -> None:
        """Reference state initialisation of the worlds `env_ids` (n,): at `clip_ids` and `times` (n,), else drawn."""
        if clip_ids is None:
            clip_ids, times = self._draw_starts(env_ids)
        self.backend.reset_worlds(env_ids, reference_person_state(self.library, self.hinges, clip_ids, times))
        self.furniture.place(env_ids, clip_ids)
        self.clip_ids[env_ids], self.times[env_ids], self.steps[env_ids] = clip_ids, times, 0
        self.amp_history[env_ids] = self._reference_amp_history(clip_ids, times)

    def _reset_where(self, mask: torch.Tensor) -> None:
        """`_reset` of the worlds where the (N,) bool `mask` is set, without a host sync: a start is drawn and its
        state computed for every world, and kept where `mask` is set."""
        clip_ids, times = self._draw_starts(self._all_worlds)
        self.backend.reset_where(mask, reference_person_state(self.library, self.hinges, clip_ids, times))
        self.furniture.place_where(mask, clip_ids)
        self.clip_ids.copy_(torch.where(mask, clip_ids, self.clip_ids))
        self.times.copy_(torch.where(mask, times, self.times))
        self.steps.masked_fill_(mask, 0)
        self.amp_history.copy_(torch.where(mask[:, None, None, None], self._reference_amp_history(clip_ids, times),
                                           self.amp_history))

    def _draw_starts(self, env_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n,) clips and (n,) start times (s) for the worlds `env_ids`: random times with `random_start` (0 for a
        `first_frame_share` of them), else 0."""
        clip_ids = self._sample_clip_ids(env_ids)
        n = env_ids.numel()
        fraction = (torch.rand(n, generator=self.generator, device=self.device) if self.cfg.random_start
                    else torch.zeros(n, device=self.device))
        if self.cfg.random_start and self.cfg.first_frame_share > 0:  # no extra draw at 0: the same starts as before
            first = torch.rand(n, generator=self.generator, device=self.device) < self.cfg.first_frame_share
            fraction = fraction.masked_fill(first, 0.0)
        return clip_ids, fraction * self.library.clip_duration[clip_ids]

    @cached_property
    def _all_worlds(self) -> torch.Tensor:
        """(N,) every world's id, on the device (made once)."""
        return torch.arange(self.num_envs, device=self.device)

    # --- stepping -----------------------------------------------------------------------------
    def training_scalars(self) -> dict[str, float]:
        """Per motion family of the clips (`MotionLibrary.families`): its clips' mean recent failure rate and its
        share of the clip draws (`clip_failure_rate/<family>`, `clip_draw_share/<family>`): why episodes end; with a
        termination curriculum, the factor on the rules' distances (`termination_distance_scale`)."""
        scalars = {f"{name}/{family}": value for family, pair in self.library.family_sampling().items()
                   for name, value in zip(("clip_failure_rate", "clip_draw_share"), pair)}
        if self.cfg.termination_curriculum.distance_scale != 1.0:
            scalars["termination_distance_scale"] = self.terminations.distance_scale
        return scalars

    def world_families(self) -> tuple[list[str], torch.Tensor]:
        """The motion families of the clips (`MotionLibrary.families`) and (N,) the family of each world's clip."""
        return self.library.families, self.library.clip_family[self.clip_ids]

    def training_state(self) -> dict:
        """The clips' failure rates that decide the draw (`MotionLibrary.sampling_state`)."""
        return {"clip_sampling": self.library.sampling_state()}

    def load_training_state(self, state: dict) -> str:
        """Restore the clips' failure rates when the checkpoint saved them for these very clips; otherwise they start
        at 1 (even draws) and settle within about 50 iterations."""
        if "clip_sampling" not in state:
            return "clip failure rates start afresh (the checkpoint did not save them)"
        if not self.library.load_sampling_state(state["clip_sampling"]):
            return "clip failure rates start afresh (the checkpoint saved them for other clips)"
        return "clip failure rates restored"

    def set_training_iteration(self, iteration: int) -> None:
        """The training aids of iteration `iteration`: the root assist's gains (once they reach 0 the wrench is
        cleared) and the termination curriculum's widening of the rules' distances."""
        was_on = self.root_assist.scale > 0
        self.root_assist.set_iteration(iteration)
        if was_on and self.root_assist.scale == 0:
            self.backend.set_root_wrench(self._no_wrench)
        curriculum = self.cfg.termination_curriculum
        self.terminations.set_distance_scale(
            1.0 + (curriculum.distance_scale - 1.0) * linear_decay(iteration, curriculum.decay_start,
                                                                   curriculum.decay_iterations))

    def step(self, actions: list[torch.Tensor]) -> StepResult:
        pd_actions, grip = split_actions(actions, self.backend.num_dofs)
        targets = pd_actions * self.action_scale
        if self.cfg.residual_actions:
            targets = targets + self._residual_offset(self.times + self.dt)
        wrench = self._root_assist_wrench()
        diverged = self.backend.step(targets, grip)
        self.times += self.dt
        self.steps += 1
        state = self.backend.body_state()
        reference = [Bodies.reference(self.library.sample(self.clip_ids, self.times), a) for a in range(self.num_agents)]
        ctx = self.task.context(state, reference, self.steps)
        views = [ctx.agent(a) for a in range(self.num_agents)]
        per_agent = [reward_set.terms(view) for reward_set, view in zip(self.reward_sets, views)]
        own = torch.stack([reward_set.total(terms, view) for reward_set, terms, view in zip(self.reward_sets, per_agent, views)],
                          dim=1)
        fired_per_agent = self.terminations(views)
        rule_fired = fired_per_agent.any(1)
        terminated = diverged | rule_fired if self.cfg.early_termination else diverged.clone()
        clip_end = self.times + self.dt > self.library.clip_duration[self.clip_ids] + 1e-6
        truncated = ~terminated & (clip_end | (self.steps >= self.cfg.max_episode_steps))
        self.amp_history = torch.cat([self._amp_now(state)[:, :, None], self.amp_history[:, :, :-1]], dim=2)
        amp_obs = [self.amp_history[:, a].clone() for a in range(self.num_agents)]
        self.library.record_outcomes(self.clip_ids, terminated | truncated, terminated)
        metrics = self.task.metrics(state, ctx, reference)
        obs, final_obs = self._reset_ended(state, terminated | truncated)
        errors = torch.stack([body_pos_error(state.pos[:, a], reference[a].pos) for a in range(self.num_agents)], dim=1)
        local_errors = torch.stack([
            body_pos_error(state.pos[:, a] - state.pos[:, a, :1], reference[a].pos - reference[a].pos[:, :1])
            for a in range(self.num_agents)], dim=1)
        return StepResult(
            obs=obs, rewards=self.task.mix_rewards(own), terminated=terminated, truncated=truncated,
            final_obs=final_obs, amp_obs=amp_obs, reward_terms=self._stacked_terms(per_agent, own),
            metrics={"body_pos_error_m": errors.mean(-1), "body_pos_error_local_m": local_errors.mean(-1),
                     **self._agent_metrics("body_pos_error_m", errors), "diverged": diverged.float(),
                     "termination_rule_fired": rule_fired.float(),
                     **self._agent_metrics("termination_rule_fired", fired_per_agent.float()), **metrics,
                     **({"root_assist_force_n": wrench[..., :3].norm(dim=-1).sum(-1)} if wrench is not None else {})},
        )

    def _root_assist_wrench(self) -> torch.Tensor | None:
        """(N, A, 6) the root assist's wrench for this step, given to the backend (None when it is not configured;
        zeros once its gains have fallen to 0)."""
        if not self.root_assist.configured:
            return None
        if self.root_assist.scale == 0:
            return self._no_wrench
        reference = self.library.sample(self.clip_ids, self.times + self.dt)  # where the pelvis should end the step
        wrench = self.root_assist.wrench(self.backend.body_state(), reference)
        self.backend.set_root_wrench(wrench)
        return wrench

    @staticmethod
    def _stacked_terms(per_agent: list[dict[str, torch.Tensor]], own: torch.Tensor) -> dict[str, torch.Tensor]:
        """{term: (N, A)} of every term active for some agent (0 for an agent that does not have it)."""
        names = list(dict.fromkeys(name for terms in per_agent for name in terms))
        zeros = torch.zeros_like(own[:, 0])
        return {name: torch.stack([terms.get(name, zeros) for terms in per_agent], dim=1) for name in names}

    def _reset_ended(self, state: BodyState, done: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Reset the worlds `done` (N,) marks; per agent the observations after the resets and the final ones of the
        ended episodes (`StepResult.obs`, `final_obs`). Sync-free: every world is observed before and after
        masked resets. Else the ended worlds are found by id (`_ended_worlds`), observed alone before their
        reset, then every world once."""
        if self.sync_free:
            final_obs = self._observations(state)
            self._reset_where(done)
            return self._observations(self.backend.body_state()), final_obs
        ids = self._ended_worlds(done)
        if not ids.numel():
            obs = self._observations(state)
            return obs, obs
        ended_obs = self._observations(state, ids)
        self._reset(ids)
        obs = self._observations(self.backend.body_state())
        return obs, [o.index_put((ids,), ended) for o, ended in zip(obs, ended_obs)]

    def _ended_worlds(self, done: torch.Tensor) -> torch.Tensor:
        """(n,) ids of the worlds `done` (N,) marks, for resets by id: a host sync (`nonzero` sizes its result on
        the host), as is the value check of the backend's `reset_worlds`."""
        return done.nonzero()[:, 0]

    def _agent_metrics(self, name: str, per_agent: torch.Tensor) -> dict[str, torch.Tensor]:
        """`<role>_<name>` entries of a (N, A) quantity for two-agent envs (nothing for one agent)."""
        if self.num_agents == 1:
            return {}
        return {f"{role}_{name}": per_agent[:, a] for a, role in enumerate(ROLES)}

    def _residual_offset(self, times: torch.Tensor) -> torch.Tensor:
        """(N, A, D) what residual actions' PD targets add to the policy's: the reference's hinge angles at `times`,
        with `velocity_feedforward` plus kd/kp times the reference's hinge speeds (radians)."""
        angles, speeds = self.hinges.sample(self.clip_ids, times)
        if self.cfg.velocity_feedforward:
            return angles + self.backend.pd_lead_time * speeds
        return angles

    # --- observations -------------------------------------------------------------------------
    def _observations(self, state: BodyState, env_ids: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Per agent (N, obs_dim): own state and the targets one step ahead; with `env_ids` (n,), those worlds'
        alone (n, obs_dim) (`state` holds every world's)."""
        clip_ids, times = self.clip_ids, self.times
        if env_ids is not None:
            state, clip_ids, times = state.select(env_ids), clip_ids[env_ids], times[env_ids]
        ahead = self.library.sample(clip_ids, times + self.dt)
        targets = self.task.targets(state, [Bodies.reference(ahead, a) for a in range(self.num_agents)])
        extra = self.task.observations(state, env_ids)
        obs = []
        for a in range(self.num_agents):
            body, target = Bodies.simulated(state, a), targets[a]
            obs.append(torch.cat([
                self_observation(body.pos, body.rot, body.lin_vel, body.ang_vel),
                tracking_observation(body.pos, body.rot, body.lin_vel, body.ang_vel,
                                     target.pos, target.rot, target.lin_vel, target.ang_vel),
                extra[a],
            ], dim=-1))
        return obs

    def _amp_now(self, state: BodyState) -> torch.Tensor:
        """(N, A, amp_dim) AMP features of the simulated persons."""
        return torch.stack([amp_features(state.pos[:, a], state.rot[:, a], state.lin_vel[:, a], state.ang_vel[:, a])
                            for a in range(self.num_agents)], dim=1)

    def _reference_amp_features(self, clip_ids: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """(n, A, amp_dim) AMP features of every person of the reference at `times` (n,)."""
        ref = self.library.sample(clip_ids, times)
        return torch.stack([
            amp_features(ref.pos[:, p], quat_to_matrix(ref.quat[:, p]), ref.lin_vel[:, p], ref.ang_vel[:, p])
            for p in range(self.num_agents)], dim=1)

    def _reference_amp_history(self, clip_ids: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """(n, A, amp_steps, amp_dim) AMP features of the reference at times t, t - dt, ... (clamped at 0)."""
        n, k = clip_ids.numel(), self.amp_steps
        offsets = torch.arange(k, dtype=torch.float32, device=self.device) * self.dt
        features = self._reference_amp_features(clip_ids.repeat_interleave(k), (times[:, None] - offsets).reshape(-1))
        return features.reshape(n, k, self.num_agents, -1).transpose(1, 2)

    @cached_property
    def _amp_table(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The reference's AMP features on each clip's policy-step grid t = 0, dt, 2 dt, ...: (rows, A, amp_dim)
        features, (C,) first row and (C,) number of rows of each clip, all on the device. Built once, in chunks;
        its layout is computed on the host (from the library's host copy of the durations)."""
        steps = (torch.tensor(self.library.clip_seconds, dtype=torch.float32) / self.dt + 1e-6).floor().long() + 1
        start = torch.cumsum(steps, 0) - steps
        clip_ids = torch.repeat_interleave(torch.arange(steps.numel()), steps)
        times = (torch.arange(clip_ids.numel()) - start[clip_ids]).float() * self.dt
        clip_ids, times = clip_ids.to(self.device), times.to(self.device)
        chunks = [self._reference_amp_features(clip_ids[i:i + 8192], times[i:i + 8192])
                  for i in range(0, clip_ids.numel(), 8192)]
        return torch.cat(chunks), start.to(self.device), steps.to(self.device)

    def reference_amp_obs(self, n: int, generator: torch.Generator | None = None, agent: int = 0) -> torch.Tensor:
        """(n, amp_steps, amp_dim) reference AMP histories of person `agent` ending at random policy steps of
        random clips (looked up in a table of the clips' features, earlier steps clamped at the clip start).
        `generator`: on the env's device, or None."""
        clip_ids = torch.randint(self.library.num_clips, (n,), generator=generator, device=self.device)
        return self._reference_amp_rows(clip_ids, generator, agent)

    def reference_amp_obs_per_group(self, n: int, generator: torch.Generator | None = None, agent: int = 0) -> torch.Tensor:
        """(K, n, amp_steps, amp_dim) as `reference_amp_obs`, n histories from the clips of each of the K
        clip groups of `partition_worlds` (uniformly over each group's clips)."""
        if self.world_group is None:
            return self.reference_amp_obs(n, generator, agent)[None]
        k = self._group_clips.shape[0]
        column = draw_one_per_row(self._group_valid.float().repeat_interleave(n, 0), generator)
        clip_ids = self._group_clips.repeat_interleave(n, 0)[torch.arange(k * n, device=self.device), column]
        return self._reference_amp_rows(clip_ids, generator, agent).reshape(k, n, self.amp_steps, -1)

    def _reference_amp_rows(self, clip_ids: torch.Tensor, generator: torch.Generator | None, agent: int) -> torch.Tensor:
        """(n, amp_steps, amp_dim) reference AMP histories of clips `clip_ids` (n,) ending at random policy steps."""
        table, start, steps = self._amp_table
        n = clip_ids.numel()
        last = (torch.rand(n, generator=generator, device=self.device) * steps[clip_ids]).long().clamp(max=steps[clip_ids] - 1)
        rows = start[clip_ids, None] + (last[:, None] - torch.arange(self.amp_steps, device=self.device)).clamp(min=0)
        return table[rows, agent]

    def close(self) -> None:
        self.backend.close()
