"""Several experts trained in one process on one batch of worlds: stacked networks, per-expert PPO and AMP, the runner.

How K experts map onto worlds and tensors (everything below follows from these three rules):
- worlds: a batch of N = K * M worlds in expert-major blocks; expert k owns worlds k*M ... (k+1)*M - 1,
  which only ever play expert k's clips (`TrackingEnv.partition_worlds`). A per-world tensor (N, ...) is
  the per-expert tensor (K, M, ...) by a reshape (`split_experts`), no gather.
- weights (`networks.py`): a stacked module holds the K experts' tensors under the names of one expert's
  module (`ActorCritic`, `Discriminator`), each with a leading K dimension: expert k is slice k
  (`load_expert_into(k, module)` / `StackedActorCritic.expert(k)` give it back as an ordinary module).
  `torch.func.functional_call` under `torch.vmap` over K evaluates every expert on its own block in one
  batched call (equal to the experts' own outputs up to float rounding of the batched products).
- learning (`learners.py`, `runner.py`): every loss term is a mean over one expert's own samples, (K,),
  and the loss back-propagated is their sum, so the gradient of expert k's slice is exactly its own.
  Minibatches take the same number of samples of every expert (the same shuffled positions in each
  expert's rollout), advantages are normalised per expert, gradient norms are clipped per expert (the
  norm over expert k's slices), and Adam's state is per element with a learning rate per expert (K,), so
  the adaptive-KL schedule follows each expert's own KL. One stacked step therefore equals K independent
  `PPO` / `AMP` steps (up to float rounding).
Each expert keeps the settings it would have alone: `ppo.minibatch_size` and `runner.amp_batch_size` samples
per step, `amp.replay_size` replayed AMP histories. `StackedRunner.expert_checkpoint_state(k)` writes expert k
in the format of `OnPolicyRunner`'s checkpoints, so later stages read it like a `stage=expert` run's (and
`stage=expert stage.resume=true` can continue it alone). A batch runs in one process: under torchrun,
`stage=experts` gives each process its own experts instead of splitting a batch's worlds.
"""

from assistmimic.rl.stacked.learners import (
    StackedAdam,
    StackedAMP,
    StackedPPO,
    StackedReplayBuffer,
    clip_grad_norm_per_expert,
)
from assistmimic.rl.stacked.networks import (
    StackedActorCritic,
    StackedDiscriminator,
    StackedModule,
    merge_experts,
    rollout_per_expert,
    split_experts,
)
from assistmimic.rl.stacked.runner import StackedRunner

__all__ = [
    "StackedAMP", "StackedActorCritic", "StackedAdam", "StackedDiscriminator", "StackedModule", "StackedPPO",
    "StackedReplayBuffer", "StackedRunner", "clip_grad_norm_per_expert", "merge_experts", "rollout_per_expert",
    "split_experts",
]
