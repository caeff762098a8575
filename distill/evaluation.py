"""The student and the experts on the training clips and on held-out clips: one table.

Every clip is tracked from its first frame by `assistmimic.evaluation`'s two-agent rules (success, MPJPE,
failure reason, contact rate, ...). Rows per clip:
- `student` on every clip;
- `expert` on a training clip: the expert trained on it;
- `expert` on a held-out clip: no expert saw it, so every expert tracks it (all pairs in one batch) and
  the best one is reported (success first, then MPJPE): an oracle choice of expert, the bar a general
  student has to reach without choosing.
"""

from __future__ import annotations

import torch

from assistmimic.envs.assist import AssistEnv
from assistmimic.evaluation import EvalRules, contact_phase, evaluate_assist_clips, in_batches
from assistmimic.rl.policy import ActorCritic
from distill.experts import ExpertSet
from motion_lib.clip import Clip

TRAIN, HELD_OUT = "train", "held_out"


class ExpertPolicy:
    """Agent `agent`'s actions from each world's expert; stands in for a policy in `track_clips`."""

    def __init__(self, experts: ExpertSet, agent: int, expert_ids: torch.Tensor):
        self.experts, self.agent, self.expert_ids = experts, agent, expert_ids

    def act_deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        return self.experts.actions(self.agent, obs, self.expert_ids)


def compare_on_clips(env: AssistEnv, clips: list[Clip], students: list[ActorCritic], experts: ExpertSet,
                     held_out: set[str], rules: EvalRules) -> list[dict]:
    """Rows (see the module docstring) for `clips`, the clips of `env.library` in order; `held_out`: names of
    clips no expert saw. Each row holds `policy`, `split`, `expert` and `stage=eval`'s two-agent columns. The
    students and experts are moved to the env's device."""
    students, experts = [student.to(env.device) for student in students], experts.to(env.device)
    names = env.library.clip_names
    horizon = max(env.library.clip_num_frames)
    contact = torch.stack([contact_phase(clip, env.dt, horizon) for clip in clips])
    owners = experts.clip_experts(names)
    split = [HELD_OUT if name in held_out else TRAIN for name in names]

    def rows_of(items: list[tuple[int, int]], desc: str) -> list[dict]:
        """Rows of (clip index, expert index or -1 for the student) pairs."""
        def evaluate(batch: list[int]) -> list[dict]:
            clip_ids = [items[i][0] for i in batch]
            expert_ids = [items[i][1] for i in batch]
            if expert_ids[0] < 0:
                policies = students
            else:
                padded = torch.tensor(expert_ids + [expert_ids[-1]] * (env.num_envs - len(batch)), device=env.device)
                policies = [ExpertPolicy(experts, a, padded) for a in range(2)]
            rows = evaluate_assist_clips(env, policies, clip_ids, rules.failure_distance, rules.fall_head_drop,
                                         contact[clip_ids])
            return [{"policy": "student" if e < 0 else "expert", "split": split[c],
                     "expert": "" if e < 0 else experts.names[e], **row} for c, e, row in zip(clip_ids, expert_ids, rows)]

        return in_batches(len(items), env.num_envs, evaluate, desc)

    rows = rows_of([(c, -1) for c in range(len(names))], "eval student")
    trained = [(c, int(owners[c])) for c in range(len(names)) if split[c] == TRAIN]
    if trained:
        rows += rows_of(trained, "eval experts")
    unseen = [(c, k) for c in range(len(names)) if split[c] == HELD_OUT for k in range(len(experts.names))]
    if unseen:
        every_expert = rows_of(unseen, "eval experts on held-out clips")
        best: dict[str, dict] = {}
        for row in every_expert:
            incumbent = best.get(row["clip"])
            if incumbent is None or (row["success"], -row["mpjpe_mm"]) > (incumbent["success"], -incumbent["mpjpe_mm"]):
                best[row["clip"]] = row
        rows += list(best.values())
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Per (policy, split) present: clips, success_rate, mpjpe_mm (means over clips)."""
    table = []
    for policy in ("student", "expert"):
        for split in (TRAIN, HELD_OUT):
            group = [r for r in rows if r["policy"] == policy and r["split"] == split]
            if group:
                table.append({"policy": policy, "split": split, "clips": len(group),
                              "success_rate": sum(r["success"] for r in group) / len(group),
                              "mpjpe_mm": sum(r["mpjpe_mm"] for r in group) / len(group)})
    return table


def format_table(table: list[dict]) -> str:
    """The summary as aligned text lines."""
    lines = [f"{'policy':<8} {'split':<9} {'clips':>5} {'success_rate':>12} {'mpjpe_mm':>9}"]
    lines += [f"{r['policy']:<8} {r['split']:<9} {r['clips']:>5} {r['success_rate']:>12.3f} {r['mpjpe_mm']:>9.1f}"
              for r in table]
    return "\n".join(lines)
