"""Reinforcement-learning core: observation normaliser, actor-critic policy, rollout storage, GAE, PPO,
AMP discriminator, atomic checkpoints (the prior's widening and rl_games/PHC import are in `phc_prior`).

Each file has one job and knows nothing of the simulator or the environment.
"""
