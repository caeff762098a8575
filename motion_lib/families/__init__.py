"""Parametric single-person motion families: motion for the prior to learn from, made by the project's own code.

- `registry`: every family by name with its default share of a data set, and `make_clips` (the data set);
- `locomotion` (walk, stop-start, side and back steps, run) on `gait` (footsteps, planted and swinging feet,
  the pelvis that follows); `standing`, `seated`, `floor`, `assisted`: keyframed families on planted feet;
- `feet`: sole geometry, feet placed by IK, the highest pelvis the legs reach; `common`: shared helpers;
- `transforms`: mirroring and time-warping; `checks`: the plausibility measurements the tests use.

    python -m motion_lib.families --clips 400 --seed 0 --output data/families/prior_train.pkl
"""
