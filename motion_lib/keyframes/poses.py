"""Named joint-angle sets shared by keyframed clips (degrees, see `motion_lib.keyframes.animate`)."""

from __future__ import annotations

ARMS_DOWN = {"L_Shoulder": (-75.0, 0.0, -10.0), "R_Shoulder": (75.0, 0.0, 10.0),
             "L_Elbow": (0.0, 0.0, -15.0), "R_Elbow": (0.0, 0.0, 15.0)}
ARMS_ON_LAP = {"L_Shoulder": (-70.0, 0.0, -30.0), "R_Shoulder": (70.0, 0.0, 30.0),
               "L_Elbow": (0.0, 0.0, -40.0), "R_Elbow": (0.0, 0.0, 40.0)}
LEFT_ARM_DOWN = {"L_Shoulder": ARMS_DOWN["L_Shoulder"], "L_Elbow": ARMS_DOWN["L_Elbow"]}
FOREARM_OUT = {"R_Shoulder": (75.0, 0.0, 40.0), "R_Elbow": (0.0, 0.0, 60.0)}  # right forearm held out forwards
ARMS_REACH = {"L_Shoulder": (0.0, -40.0, -80.0), "R_Shoulder": (0.0, -40.0, 80.0)}
ARMS_FORWARD_UP = {"L_Shoulder": (0.0, -35.0, -80.0), "R_Shoulder": (0.0, -35.0, 80.0),
                   "L_Elbow": (0.0, 0.0, -20.0), "R_Elbow": (0.0, 0.0, 20.0)}


def trunk(flexion: float, neck: float = 0.0) -> dict[str, tuple[float, float, float]]:
    """Trunk flexion (degrees, + forward) spread over the three spine joints, and the neck's."""
    return {"Torso": (0.0, 0.4 * flexion, 0.0), "Spine": (0.0, 0.35 * flexion, 0.0),
            "Chest": (0.0, 0.25 * flexion, 0.0), "Neck": (0.0, neck, 0.0)}
