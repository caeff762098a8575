"""A toolkit for making motion from keyframes, used by the demo clips and the motion families.

- `animate`: keyframes (`Key`) -> a person, every channel interpolated with a PCHIP curve;
- `limbs`: analytic two-bone IK (legs and arms at world targets, planted feet, reaching hands);
- `holds`: two-person hand placements (grip, palm on a forearm or on the back);
- `poses`: named joint-angle sets (arms down, trunk flexion, ...).
"""
