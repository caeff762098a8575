"""Vectorised environments: the single-person tracking env (the prior) and, later, the two-agent assist env."""
