"""The experts of a `stage=experts` run, loaded together, and their actions for a batch of worlds.

`ExpertSet.load` reads `experts/index.json` ({name: {"clips": [...], "checkpoint": "<name>/last.pt"}})
and every expert's two-agent checkpoint. Each world is labelled by the expert trained on its clip
(`clip_experts`). Experts of one architecture are evaluated together: their weights are stacked
(`torch.func.stack_module_state`) and one vmapped call computes every expert's mean actions on the
worlds routed to it (padded to the busiest expert), so the cost does not grow with a Python loop over
experts or worlds. `ExpertSet.to` puts the experts on the environment's device; `actions` then syncs with the
host once, plus once per architecture group (to size the padded batch).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.func import functional_call, stack_module_state, vmap

from assistmimic.envs.config import AssistEnvConfig
from assistmimic.rl.checkpoint import load_training_checkpoint
from assistmimic.rl.policy import ActorCritic
from motion_lib.clip import ROLES
from motion_lib.errors import UserInputError

INDEX_FILE = "index.json"
EXPERTS_DIR = "experts"
ASSIST_TASK = "assist"


def find_index(experts: str | Path) -> Path:
    """The experts' index.json from a `stage=experts` run_dir, its `experts/` folder or the file itself."""
    path = Path(experts)
    for candidate in (path, path / INDEX_FILE, path / EXPERTS_DIR / INDEX_FILE):
        if candidate.is_file():
            return candidate
    if not path.exists():
        raise UserInputError(f"experts={path} does not exist; give the run_dir of a stage=experts run")
    raise UserInputError(f"experts={path} holds no {INDEX_FILE} (nor {EXPERTS_DIR}/{INDEX_FILE}): no expert of this "
                         "stage=experts run has finished yet, or it is not an experts folder")


@dataclass(frozen=True)
class Expert:
    name: str
    clips: tuple[str, ...]
    checkpoint: Path
    policies: tuple[ActorCritic, ActorCritic]
    """(supporter, recipient) policies in evaluation mode."""
    metadata: dict


class StackedPolicies:
    """The mean actions of K policies of one architecture in one vmapped call."""

    def __init__(self, policies: list[ActorCritic]):
        self.params, self.buffers = stack_module_state(policies)
        self.params = {name: value.detach() for name, value in self.params.items()}
        self.template = copy.deepcopy(policies[0]).to("meta")
        self.size = len(policies)
        """K, the number of policies stacked."""

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        """(K, M, obs_dim) observations, row k for policy k -> (K, M, action_dim) mean actions."""
        def one(params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
            return functional_call(self.template, (params, buffers), (x,))

        with torch.no_grad():
            return vmap(one)(self.params, self.buffers, obs)


class ExpertSet:
    """Experts (each a supporter and a recipient policy) and their batched actions; see the module docstring."""

    def __init__(self, experts: list[Expert], index: Path):
        self.experts = experts
        self.index = index
        self.names = [expert.name for expert in experts]
        self.obs_dims = [sum(experts[0].policies[a].obs_dims) for a in range(2)]
        self.action_dims = [experts[0].policies[a].action_dim for a in range(2)]
        self.device = next(experts[0].policies[0].parameters()).device
        """Where the experts' policies (and the routing tables) live."""
        self._groups = [self._stack(agent) for agent in range(2)]

    def to(self, device: torch.device | str) -> ExpertSet:
        """Moves every expert's policies (and their stacked copies) to `device`; returns self."""
        device = torch.device(device)
        if device != self.device:
            for expert in self.experts:
                for policy in expert.policies:
                    policy.to(device)
            self.device = device
            self._groups = [self._stack(agent) for agent in range(2)]
        return self

    # --- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, experts: str | Path, robot: str) -> ExpertSet:
        """Every expert listed in the index, checked to be two-agent policies for `robot` that agree on
        observation and action sizes and on the action semantics."""
        index = find_index(experts)
        try:
            entries = json.loads(index.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserInputError(f"{index} is not valid JSON ({err})") from None
        if not isinstance(entries, dict) or not entries:
            raise UserInputError(f"{index} lists no finished expert; train experts with stage=experts first")
        loaded = [_load_expert(index, name, entry, robot) for name, entry in sorted(entries.items())]
        _check_agreement(loaded)
        return cls(loaded, index)

    # --- routing ---------------------------------------------------------------------------------
    @property
    def clip_names(self) -> list[str]:
        return [clip for expert in self.experts for clip in expert.clips]

    def clip_experts(self, clip_names: list[str]) -> torch.Tensor:
        """(C,) the index of the expert trained on each clip, -1 where none was."""
        owner = {clip: k for k, expert in enumerate(self.experts) for clip in expert.clips}
        return torch.tensor([owner.get(name, -1) for name in clip_names], dtype=torch.long)

    @property
    def env_config(self) -> AssistEnvConfig:
        """The environment settings the experts were trained with (the first expert's; they agree on actions)."""
        return AssistEnvConfig.from_dict(self.experts[0].metadata["env_config"], self.names[0])

    def check_observations(self, obs_dims: list[int], action_dims: list[int], who: str) -> None:
        """One clear sentence when `who` (the student, an env) sees other sizes than the experts."""
        for a, role in enumerate(ROLES):
            if obs_dims[a] != self.obs_dims[a] or action_dims[a] != self.action_dims[a]:
                raise UserInputError(
                    f"the experts' {role} policies take {self.obs_dims[a]} observations and give {self.action_dims[a]} "
                    f"actions, but {who} has {obs_dims[a]} and {action_dims[a]}; experts and student must use the "
                    "same robot and observation layout")

    # --- actions ---------------------------------------------------------------------------------
    def _stack(self, agent: int) -> list[tuple[torch.Tensor, StackedPolicies]]:
        """The experts of agent `agent` grouped by architecture: per group, (K,) each expert's position in the
        group (-1: another group's) and the group's stacked policies."""
        groups: dict[str, list[int]] = {}
        for k, expert in enumerate(self.experts):
            groups.setdefault(json.dumps(expert.policies[agent].spec(), sort_keys=True), []).append(k)
        stacked = []
        for members in groups.values():
            local = torch.full((len(self.experts),), -1, dtype=torch.long)
            local[members] = torch.arange(len(members))
            stacked.append((local.to(self.device), StackedPolicies([self.experts[k].policies[agent] for k in members])))
        return stacked

    def actions(self, agent: int, obs: torch.Tensor, expert_ids: torch.Tensor) -> torch.Tensor:
        """(N, action_dim) mean actions of agent `agent` of each world's expert `expert_ids` (N,) on `obs` (N, obs_dim),
        all on the experts' device."""
        if not bool(((expert_ids >= 0) & (expert_ids < len(self.experts))).all()):
            raise ValueError("every world needs an expert index in [0, number of experts)")
        out = obs.new_zeros(obs.shape[0], self.action_dims[agent])
        for local, stacked in self._groups[agent]:
            world_local = local[expert_ids]
            # Worlds per slot: 0 for the other groups' (-1), 1 + k for the group's expert k.
            per_slot = torch.zeros(stacked.size + 1, dtype=torch.long, device=obs.device).index_add_(
                0, world_local + 1, torch.ones_like(world_local))
            elsewhere, *counts_host = per_slot.tolist()  # the group's one host sync: sizes the padded batch
            if elsewhere == obs.shape[0]:
                continue
            worlds = torch.argsort(world_local, stable=True)[elsewhere:]  # the group's worlds by expert, then by world
            owner = world_local[worlds]
            counts = per_slot[1:]
            starts = torch.cumsum(counts, 0) - counts
            slot = torch.arange(worlds.numel(), device=obs.device) - starts[owner]
            batch = obs.new_zeros(stacked.size, max(counts_host), obs.shape[1])
            batch[owner, slot] = obs[worlds]
            out[worlds] = stacked(batch)[owner, slot]
        return out


def _load_expert(index: Path, name: str, entry: object, robot: str) -> Expert:
    if not isinstance(entry, dict) or not isinstance(entry.get("checkpoint"), str) or not entry.get("clips"):
        raise UserInputError(f"{index}: entry '{name}' must be {{\"clips\": [...], \"checkpoint\": \"<path>\"}}")
    checkpoint = index.parent / entry["checkpoint"]
    if not checkpoint.is_file():
        raise UserInputError(f"{index}: the checkpoint {checkpoint} of expert '{name}' does not exist; "
                             "rerun stage=experts in that run_dir to finish it")
    state = load_training_checkpoint(checkpoint)
    metadata = state.get("metadata") or {}
    if metadata.get("task") != ASSIST_TASK or len(state["policies"]) != 2:
        raise UserInputError(f"{checkpoint} (expert '{name}') is not a two-agent expert: it holds "
                             f"{len(state['policies'])} policies for the task {metadata.get('task', 'tracking')!r}")
    if metadata.get("robot", robot) != robot:
        raise UserInputError(f"{checkpoint} (expert '{name}') was trained for the {metadata['robot']} robot, "
                             f"this run uses {robot}; set robot={metadata['robot']}")
    if "env_config" not in metadata:
        raise UserInputError(f"{checkpoint} (expert '{name}'): its metadata holds no env_config")
    policies = tuple(ActorCritic.from_saved_state(saved).eval() for saved in state["policies"])
    return Expert(name, tuple(entry["clips"]), checkpoint, policies, metadata)


ACTION_MEANING = {"residual_actions": None, "velocity_feedforward": False}
"""The env settings that decide what an action does, with what a stored config without the key meant."""


def _check_agreement(experts: list[Expert]) -> None:
    """All experts act in the same way (`ACTION_MEANING`: residual or absolute targets, led or not) on observations of
    the same sizes, and no clip has two experts."""
    first = experts[0]
    for expert in experts[1:]:
        for a, role in enumerate(ROLES):
            mine, theirs = expert.policies[a], first.policies[a]
            if sum(mine.obs_dims) != sum(theirs.obs_dims) or mine.action_dim != theirs.action_dim:
                raise UserInputError(
                    f"experts '{first.name}' and '{expert.name}' disagree: their {role} policies take "
                    f"{sum(theirs.obs_dims)} and {sum(mine.obs_dims)} observations, give {theirs.action_dim} and "
                    f"{mine.action_dim} actions; distil experts of one robot and observation layout")
        for key, default in ACTION_MEANING.items():
            values = [e.metadata["env_config"].get(key, default) for e in (first, expert)]
            if values[0] != values[1]:
                raise UserInputError(f"experts '{first.name}' and '{expert.name}' disagree on {key} "
                                     f"({values[0]} and {values[1]}); their actions cannot label one student")
    seen: dict[str, str] = {}
    for expert in experts:
        for clip in expert.clips:
            if clip in seen:
                raise UserInputError(f"clip '{clip}' has two experts ('{seen[clip]}' and '{expert.name}'); "
                                     "each clip must belong to one expert")
            seen[clip] = expert.name
