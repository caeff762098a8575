"""Seeing what a run does: offscreen MuJoCo videos (`render`, `playback`), training and evaluation plots
(`plots`) and the per-run `report.html` (`report`)."""
