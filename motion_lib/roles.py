"""Who is the supporter in a two-person clip that does not say (e.g. a generated one).

`assign_roles(clip, mode)` puts the supporter as person 0 and the recipient as person 1 (`clip.ROLES`):

- "as_is": keep the persons in the order read (the file's order for generated formats, the labelled
  roles for Inter-X, HHI-Assist and PHC pairs);
- "swapped": exchange them;
- "auto": the person being helped starts low (lying on the floor or sitting), so the recipient is the
  person whose HEAD is lower on average over the clip's first second (`AUTO_WINDOW_S`). The head,
  not the pelvis, separates lying and sitting from standing and from a supporter who squats beside
  them (a squatting pelvis is about as low as a seated one; the head stays well apart). When the two
  heights differ by less than `AUTO_MARGIN_M` the rule cannot tell, and the order read is kept.

Each call returns the decision as a dict for logs and summaries; it is also stored in the clip's
`source["roles"]` (and `source["supporter_in_file"]` follows a swap).
"""

from __future__ import annotations

import numpy as np

from motion_lib.clip import Clip, PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.formats.common import body_positions
from motion_lib.skeleton import get_skeleton

ROLE_MODES = ("auto", "as_is", "swapped")
AUTO_BODY = "Head"
"""The body whose height decides "auto"."""
AUTO_WINDOW_S = 1.0
"""Seconds from the clip's start over which the head heights are averaged."""
AUTO_MARGIN_M = 0.05
"""Mean head heights closer than this (m) are a tie: "auto" keeps the order read."""


def swap_persons(clip: Clip) -> Clip:
    """The clip with its two persons exchanged (the supporter becomes the recipient and vice versa)."""
    if len(clip.persons) != 2:
        raise UserInputError(f"clip '{clip.name}': only a two-person clip can swap roles, it has "
                             f"{len(clip.persons)} person(s)")
    source = dict(clip.source)
    if "supporter_in_file" in source:
        source["supporter_in_file"] = 1 - source["supporter_in_file"]
    return Clip(clip.name, clip.fps, clip.skeleton, clip.persons[::-1], source, list(clip.furniture))


def start_head_heights(clip: Clip, window_s: float = AUTO_WINDOW_S) -> list[float]:
    """Each person's mean head height (m, world z) over the clip's first `window_s` seconds."""
    skeleton = get_skeleton(clip.skeleton)
    frames = max(1, min(clip.num_frames, round(window_s * clip.fps)))
    head = skeleton.index(AUTO_BODY)
    heights = []
    for person in clip.persons:
        first = PersonMotion(person.root_pos[:frames], person.root_rot[:frames], person.joint_rot[:frames])
        heights.append(float(body_positions(first, skeleton)[:, head, 2].mean()))
    return heights


def assign_roles(clip: Clip, mode: str) -> tuple[Clip, dict]:
    """(the clip with the supporter as person 0 and the recipient as person 1, the decision).

    The decision: `mode`, `supporter_input_person` / `recipient_input_person` (indices of the persons
    as read), `swapped`, `head_height_m` (per person as read, mean over the first second) and `reason`.
    """
    if mode not in ROLE_MODES:
        raise UserInputError(f"unknown roles mode '{mode}'; expected one of {', '.join(ROLE_MODES)}")
    if len(clip.persons) != 2:
        raise UserInputError(f"clip '{clip.name}' holds {len(clip.persons)} person(s); roles need a two-person clip")
    heights = start_head_heights(clip)
    low = int(np.argmin(heights))
    if mode == "as_is":
        swap, reason = False, "roles=as_is: the first person read is the supporter"
    elif mode == "swapped":
        swap, reason = True, "roles=swapped: the second person read is the supporter"
    elif abs(heights[0] - heights[1]) < AUTO_MARGIN_M:
        swap, reason = False, (f"roles=auto: head heights over the first {AUTO_WINDOW_S:g} s differ by less than "
                               f"{AUTO_MARGIN_M:g} m ({heights[0]:.2f} and {heights[1]:.2f} m); kept the order read")
    else:
        swap = low == 0
        reason = (f"roles=auto: person {low}'s head is lower over the first {AUTO_WINDOW_S:g} s "
                  f"({heights[low]:.2f} m against {heights[1 - low]:.2f} m), so person {low} is the recipient")
    decision = {"clip": clip.name, "mode": mode, "supporter_input_person": int(swap),
                "recipient_input_person": 1 - int(swap), "swapped": swap,
                "head_height_m": [round(h, 4) for h in heights], "reason": reason}
    result = swap_persons(clip) if swap else Clip(clip.name, clip.fps, clip.skeleton, list(clip.persons),
                                                  dict(clip.source), list(clip.furniture))
    result.source["roles"] = {k: v for k, v in decision.items() if k != "clip"}
    return result, decision
