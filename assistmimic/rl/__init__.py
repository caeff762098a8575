"""Reinforcement-learning core: observation normaliser, actor-critic policy, rollout storage, GAE, PPO,
AMP discriminator, zero-column input widening, atomic checkpoints and rl_games/PHC checkpoint import.

Each file has one job and knows nothing of the simulator or the environment.
"""
