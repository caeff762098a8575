"""Vectorised environments: the single-person tracking env (the prior) and the two-agent assist env (`registry.py` lists them)."""
