"""The single-person tracking prior (PHC-style): training it (`training`) on clips or generated motion families
(`data`), widening it into the experts' starting policies (`widening`), and importing a PHC / rl_games checkpoint
as a prior (`rl_games_import`).

`stage=prior` and `scripts/import_phc_prior.py` are thin callers. The package builds on `motion_lib`,
`assistmimic.envs`, `assistmimic.rl` and `assistmimic.sim` and never imports a stage; nothing under `assistmimic/` but the stages
imports it (the RL core stays unaware of priors: widening is an operation on its `ActorCritic`).
"""
