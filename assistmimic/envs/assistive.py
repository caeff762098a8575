"""The assistive parts of the two-person task (REFERENCE §1), as pure functions of body states.

- hand proximity: each supporter wrist's distance to the nearest recipient upper-body joint;
- contact facilitation: which hands are near the partner, and the body weights that drop a near hand from
  the supporter's tracking terms (the `contact` reward term itself is in `envs/rewards.py`);
- dynamic reference redirection: the supporter's hand targets follow the recipient's simulated body;
- the assistive observation appended to the prior's observation.

Frames: `_w` world, `_h` an agent's heading frame. Shapes: N worlds, B bodies, K bodies per hand (wrist
and below), H = 2K hand bodies (left hand first, the scene's hand sensor order), U upper-body joints.
Everything runs on the device of its inputs (the `HandLayout` built there) without host syncs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from assistmimic.envs.observations import heading_inverse, rotate, rotate_matrices, to_6d
from motion_lib.skeleton import LOWER_BODY_GROUPS, Skeleton

FORCE_SCALE = 0.01
"""Contact forces enter observations in units of 100 N."""
CONTACT_THRESHOLD = 1e-3
"""A hand body pushing on the partner with more than this force (N) is in contact."""


@dataclass(frozen=True)
class HandLayout:
    """Canonical body indices the assistive terms use."""

    wrists: torch.Tensor
    """(2,) left and right wrist."""
    hands: torch.Tensor
    """(2, K) bodies of each hand, the wrist first; row-major order equals the scene's hand sensor order."""
    upper_body: torch.Tensor
    """(U,) recipient bodies a supporting hand aims at: everything above the pelvis but the legs."""
    head: int
    hand_of_body: torch.Tensor
    """(B,) the hand (0 left, 1 right) each body belongs to, -1 for bodies of no hand."""

    @classmethod
    def of(cls, skeleton: Skeleton, device: torch.device | str = "cpu") -> HandLayout:
        """The layout of `skeleton`, its index tensors on `device`."""
        hands = torch.as_tensor([list(skeleton.indices(skeleton.hand_body_names(side))) for side in ("L", "R")])
        upper = [b for b, group in enumerate(skeleton.groups) if b > 0 and group not in LOWER_BODY_GROUPS]
        hand_of_body = torch.full((skeleton.num_bodies,), -1, dtype=torch.long)
        hand_of_body[hands[0]], hand_of_body[hands[1]] = 0, 1
        return cls(
            wrists=torch.tensor([skeleton.index("L_Wrist"), skeleton.index("R_Wrist")], device=device),
            hands=hands.to(device), upper_body=torch.tensor(upper, device=device), head=skeleton.index("Head"),
            hand_of_body=hand_of_body.to(device),
        )


def wrist_to_partner_distance(own_pos_w: torch.Tensor, partner_pos_w: torch.Tensor, layout: HandLayout) -> torch.Tensor:
    """(N, 2) distance (m) from each of a person's wrists to the partner's nearest upper-body joint.

    own_pos_w, partner_pos_w: (N, B, 3) body positions.
    """
    wrists = own_pos_w[:, layout.wrists]  # (N, 2, 3)
    joints = partner_pos_w[:, layout.upper_body]  # (N, U, 3)
    return torch.cdist(wrists, joints).amin(-1)


def near_hands(distance: torch.Tensor, contact_distance: float) -> torch.Tensor:
    """(N, 2) bool: the hand's wrist is within `contact_distance` of the partner (from `wrist_to_partner_distance`)."""
    return distance <= contact_distance


def tracked_body_weights(near: torch.Tensor, layout: HandLayout) -> torch.Tensor:
    """(N, B) 1 for bodies in the supporter's tracking terms, 0 for the bodies of hands that are near.

    near: (N, 2) from `near_hands`. A fixed-size gather (a boolean-mask index would sync with the host).
    """
    hand = layout.hand_of_body
    dropped = near[:, hand.clamp(min=0)] & (hand >= 0)
    return (~dropped).float()


def touching(hand_force_w: torch.Tensor) -> torch.Tensor:
    """(..., H) bool: hand body pushes on the partner with more than CONTACT_THRESHOLD, from (..., H, 3) forces."""
    return hand_force_w.norm(dim=-1) > CONTACT_THRESHOLD


def redirect_hand_targets(ref_sup_pos_w: torch.Tensor, ref_rec_pos_w: torch.Tensor, sim_rec_pos_w: torch.Tensor,
                          active: torch.Tensor, layout: HandLayout) -> torch.Tensor:
    """(N, B, 3) supporter reference positions with the hand targets re-anchored on the simulated recipient.

    For each hand, j is the recipient reference joint nearest to the reference wrist; the hand's targets
    keep their reference offset to j but follow where j really is: every body of that hand moves by
    sim_rec[j] - ref_rec[j]. Only worlds with `active` (N,) bool change; the other bodies never do.
    ref_sup_pos_w, ref_rec_pos_w, sim_rec_pos_w: (N, B, 3).
    """
    n = ref_sup_pos_w.shape[0]
    nearest = torch.cdist(ref_sup_pos_w[:, layout.wrists], ref_rec_pos_w).argmin(-1)  # (N, 2)
    rows = torch.arange(n, device=ref_sup_pos_w.device)[:, None]
    shift = sim_rec_pos_w[rows, nearest] - ref_rec_pos_w[rows, nearest]  # (N, 2, 3)
    shift = torch.where(active[:, None, None], shift, torch.zeros_like(shift))
    offsets = torch.zeros_like(ref_sup_pos_w)
    offsets[:, layout.hands.reshape(-1)] = shift.repeat_interleave(layout.hands.shape[1], dim=1)
    return ref_sup_pos_w + offsets


def assistive_observation(own, partner, own_hand_force_w: torch.Tensor, partner_hand_force_w: torch.Tensor,
                          role: float, layout: HandLayout) -> torch.Tensor:
    """What an agent sees of its partner and of the contacts, in its own heading frame.

    own, partner: body states with pos, lin_vel, ang_vel (N, B, 3) and rot (N, B, 3, 3), world frame.
    own_hand_force_w, partner_hand_force_w: (N, H, 3) forces the hand bodies apply to the other person.
    Returns (N, 21 B + 5 H + 1): the partner's body positions relative to the own root (3B), rotations
    (6D, 6B), linear and angular velocities (3B + 3B); the partner's bodies relative to each own wrist
    (2 · 3B); the own hand contact flags (H) and forces (3H, in 100 N); the partner's contact flags (H);
    the role (0 supporter, 1 recipient).
    """
    n = own.pos.shape[0]
    heading_inv = heading_inverse(own.rot[:, 0])
    to_wrists = partner.pos[:, None] - own.pos[:, layout.wrists, None]  # (N, 2, B, 3)
    return torch.cat([
        rotate(heading_inv, partner.pos - own.pos[:, :1]).reshape(n, -1),
        to_6d(rotate_matrices(heading_inv, partner.rot)).reshape(n, -1),
        rotate(heading_inv, partner.lin_vel).reshape(n, -1),
        rotate(heading_inv, partner.ang_vel).reshape(n, -1),
        rotate(heading_inv, to_wrists).reshape(n, -1),
        touching(own_hand_force_w).float(),
        FORCE_SCALE * rotate(heading_inv, own_hand_force_w).reshape(n, -1),
        touching(partner_hand_force_w).float(),
        torch.full((n, 1), float(role), device=own.pos.device),
    ], dim=-1)


def assistive_observation_size(num_bodies: int, num_hand_bodies: int) -> int:
    """Length of `assistive_observation` (525 for SMPL: B = 24, H = 4)."""
    return 21 * num_bodies + 5 * num_hand_bodies + 1
