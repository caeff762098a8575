"""Offscreen MuJoCo frames of one world of a scene, and MP4 writing.

A `SceneRenderer` draws the persons in the scene's colours (supporter blue, recipient orange), the floor
and the clip's furniture (`show_furniture`), contact forces as arrows (MuJoCo's contact-force visualisation, `FORCE_SCALE` metres per
newton), and optionally a translucent green "ghost": the reference pose drawn as a second, kinematic copy
of the persons (never simulated, never colliding). With `legend`, a small key of these colours sits in the
top-left corner. The camera looks at the mean of the pelvis positions
(smoothed from frame to frame) from a fixed direction, so it follows the pair: for two persons, from the side of
the line between their pelvises in the first frame (`side_azimuth`), so neither hides the other.

OpenGL comes from the backend `MUJOCO_GL` names: "egl" (the default: headless, GPU or Mesa), "osmesa"
(headless, software), "glfw" (a desktop with a display) or "cgl" (macOS, its default). The context is
opened here, whatever MUJOCO_GL was when `mujoco` was imported; without a working backend
`RenderingUnavailable` says so in one sentence. (MuJoCo itself loads the library MUJOCO_GL names when it
is imported: set it only to a backend that is installed.)
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import platform
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import imageio.v2 as imageio
import mujoco
import numpy as np

from assistmimic.mjcf.scene import AGENT_COLORS, SceneModel
from assistmimic.sim.backend import PersonState
from assistmimic.sim.cpu_backend import FULL_PHYSICS, SceneLayout
from motion_lib.errors import UserInputError

GL_BACKENDS = ("egl", "osmesa", "glfw", "cgl")
"""Values of MUJOCO_GL this module can render with (unset: "egl", on macOS "cgl")."""
GHOST_RGBA = (0.25, 0.85, 0.35, 0.3)
"""Colour and opacity of the reference ghost."""
FORCE_SCALE = 0.004
"""Length of a contact-force arrow per newton (m/N); a standing person's weight spreads over ~10 contacts of ~70 N."""
CONTACT_FORCE_RGBA, CONTACT_POINT_RGBA = (0.9, 0.1, 0.1, 1.0), (1.0, 0.9, 0.1, 1.0)
"""Colours of the force arrows (red) and contact points (yellow)."""
LEGEND_ROW, LEGEND_SWATCH, LEGEND_MARGIN, LEGEND_WIDTH = 18, 12, 8, 150
"""Legend layout in pixels: row height, colour square, distance from the frame's edges, panel width."""
CAMERA_DISTANCE, CAMERA_ELEVATION, CAMERA_AZIMUTH = 4.0, -20.0, 90.0
"""Camera distance to the look-at point (m), elevation and azimuth (degrees; azimuth 90: looking along +y, across
the x axis on which the scene's two persons start, facing each other)."""
CAMERA_SMOOTHING = 0.1
"""Fraction of the way the look-at point moves towards the pelvis mean each frame."""


def side_azimuth(first: np.ndarray, second: np.ndarray) -> float:
    """The camera azimuth (degrees in [0, 360); MuJoCo's: the camera looks along (cos, sin) of it) perpendicular to
    the line from pelvis `first` to pelvis `second` (world positions, (3,) or (2,); only x and y count), of the two
    such the one nearer `CAMERA_AZIMUTH`; `CAMERA_AZIMUTH` when the two stand at one spot."""
    dx, dy = float(second[0] - first[0]), float(second[1] - first[1])
    if math.hypot(dx, dy) < 1e-6:
        return CAMERA_AZIMUTH
    line = math.degrees(math.atan2(dy, dx))
    choices = [(line + turn) % 360.0 for turn in (90.0, -90.0)]
    return min(choices, key=lambda azimuth: abs((azimuth - CAMERA_AZIMUTH + 180.0) % 360.0 - 180.0))


class RenderingUnavailable(UserInputError):
    """No offscreen OpenGL context could be opened on this machine."""


def open_gl_context(width: int, height: int):
    """A current OpenGL context of the MUJOCO_GL backend (default "egl"), or `RenderingUnavailable`."""
    backend = (os.environ.get("MUJOCO_GL") or ("cgl" if platform.system() == "Darwin" else "egl")).strip().lower()
    fix = "install libegl1 (or libosmesa6) and set MUJOCO_GL=egl (or MUJOCO_GL=osmesa)"
    if backend not in GL_BACKENDS:
        raise RenderingUnavailable(f"rendering needs EGL or OSMesa, but MUJOCO_GL={backend}; {fix}")
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # PyOpenGL's import notes are not for the user
    try:
        context = importlib.import_module(f"mujoco.{backend}").GLContext(width, height)
        context.make_current()
    except Exception as err:  # any failure of the system's GL libraries means the same to the user
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0].split(". ")[0].rstrip(".")
        raise RenderingUnavailable(f"rendering needs EGL or OSMesa, and MUJOCO_GL={backend} could not open an "
                                   f"OpenGL context ({reason}); {fix}") from err
    return context


def _with_sky(xml: str) -> str:
    """The scene's MJCF with a gradient sky behind it (a texture only; physics unchanged)."""
    root = ET.fromstring(xml)
    ET.SubElement(root.find("asset"), "texture", type="skybox", builtin="gradient", rgb1="0.55 0.7 0.85",
                  rgb2="0.95 0.95 0.95", width="64", height="64")
    return ET.tostring(root, encoding="unicode")


def set_pose(layout: SceneLayout, data: mujoco.MjData, pose: PersonState, index: int) -> None:
    """Write row `index` of `pose` (root position and rotation, hinge angles of every person) into `data.qpos`."""
    data.qpos[layout.qpos_root] = np.concatenate([pose.root_pos[index].numpy(), pose.root_quat[index].numpy()], axis=-1)
    data.qpos[layout.qpos_joint] = pose.joint_pos[index].numpy()


class SceneRenderer:
    """(height, width, 3) uint8 frames of one world of `scene` (see the module docstring).

    Per frame: put the world in a state (`show_world` from a simulator, or `show_pose` for a kinematic
    pose), optionally `show_ghost`, then `render()`.
    """

    def __init__(self, scene: SceneModel, width: int, height: int, ghost: bool = False, contact_forces: bool = True,
                 legend: bool = False):
        self.model = mujoco.MjModel.from_xml_string(_with_sky(scene.xml))
        self.model.vis.global_.offwidth = max(width, self.model.vis.global_.offwidth)
        self.model.vis.global_.offheight = max(height, self.model.vis.global_.offheight)
        self.model.vis.quality.offsamples = 0  # no multisampling, shadows or reflections: 5x faster in software GL
        self.model.vis.map.force = FORCE_SCALE
        self.model.vis.scale.forcewidth = 0.15
        self.model.vis.rgba.contactforce = CONTACT_FORCE_RGBA
        self.model.vis.rgba.contactpoint = CONTACT_POINT_RGBA
        self.data = mujoco.MjData(self.model)
        self.layout = SceneLayout(self.model, scene)
        self.option = mujoco.MjvOption()
        self.option.flags[mujoco.mjtVisFlag.mjVIS_CONTACTFORCE] = contact_forces
        self.option.flags[mujoco.mjtVisFlag.mjVIS_CONTACTPOINT] = contact_forces
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.camera.distance, self.camera.elevation = CAMERA_DISTANCE, CAMERA_ELEVATION
        self.camera.azimuth = CAMERA_AZIMUTH
        self._lookat: np.ndarray | None = None
        self.ghost_model = self.ghost_data = None
        if ghost:
            self.ghost_model = mujoco.MjModel.from_xml_string(scene.xml)
            self.ghost_model.geom_rgba[:] = GHOST_RGBA
            not_persons = ~np.isin(self.ghost_model.geom_bodyid, self.layout.body)
            self.ghost_model.geom_rgba[not_persons, 3] = 0.0  # the ghost is the persons only: no ghost furniture
            self.ghost_data = mujoco.MjData(self.ghost_model)
        self._ghost_option, self._perturb = mujoco.MjvOption(), mujoco.MjvPerturb()
        self._gl = open_gl_context(width, height)
        self._context = mujoco.MjrContext(self.model, mujoco.mjtFontScale.mjFONTSCALE_100)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._scene = mujoco.MjvScene(self.model, maxgeom=10000)
        self._scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
        self._scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
        self._rect = mujoco.MjrRect(0, 0, width, height)
        self._pixels = np.empty((height, width, 3), dtype=np.uint8)
        self._legend = legend_entries(len(scene.prefixes), ghost, contact_forces) if legend else []

    def show_furniture(self, poses: np.ndarray) -> None:
        """Put the scene's furniture slots at `poses` (S, 7): position and rotation (w, x, y, z) of each slot's body, as
        `SceneFurniture.poses` gives them for a clip; it stays for every later frame."""
        self.data.mocap_pos[self.layout.furniture] = poses[:, :3]
        self.data.mocap_quat[self.layout.furniture] = poses[:, 3:]

    def show_world(self, state: np.ndarray, ctrl: np.ndarray) -> None:
        """A simulated world: its FULLPHYSICS state and last controls (`CpuBackend.world_state`); contacts and
        their forces are recomputed (mj_forward)."""
        mujoco.mj_setState(self.model, self.data, state, FULL_PHYSICS)
        self.data.ctrl[:] = ctrl
        mujoco.mj_forward(self.model, self.data)

    def show_pose(self, pose: PersonState, index: int) -> None:
        """A kinematic pose (row `index` of `pose`), at rest, PD targets at the pose. A clip records no forces: the
        contacts drawn are where the posed persons touch, their forces those of MuJoCo's solver at that instant."""
        set_pose(self.layout, self.data, pose, index)
        self.data.qvel[:] = 0.0
        self.data.ctrl[self.layout.actuator] = pose.joint_pos[index].numpy()
        mujoco.mj_forward(self.model, self.data)

    def show_ghost(self, pose: PersonState, index: int) -> None:
        """The ghost (needs `ghost=True`) in the pose of row `index` of `pose` (the reference)."""
        set_pose(self.layout, self.ghost_data, pose, index)
        mujoco.mj_kinematics(self.ghost_model, self.ghost_data)

    def render(self) -> np.ndarray:
        """(height, width, 3) uint8 RGB image of the current state (and ghost), camera moved on one frame."""
        pelvises = self.data.xpos[self.layout.body[:, 0]]
        target = pelvises.mean(axis=0)
        if self._lookat is None and len(pelvises) == 2:
            self.camera.azimuth = side_azimuth(pelvises[0], pelvises[1])
        self._lookat = target if self._lookat is None else self._lookat + CAMERA_SMOOTHING * (target - self._lookat)
        self.camera.lookat[:] = self._lookat
        self._gl.make_current()
        mujoco.mjv_updateScene(self.model, self.data, self.option, None, self.camera, mujoco.mjtCatBit.mjCAT_ALL,
                               self._scene)
        if self.ghost_model is not None:
            mujoco.mjv_addGeoms(self.ghost_model, self.ghost_data, self._ghost_option, self._perturb,
                                mujoco.mjtCatBit.mjCAT_DYNAMIC, self._scene)
        mujoco.mjr_render(self._rect, self._scene, self._context)
        self._draw_legend()
        mujoco.mjr_readPixels(self._pixels, None, self._rect, self._context)
        return np.flipud(self._pixels).copy()  # OpenGL's rows run bottom-up

    def _draw_legend(self) -> None:
        """The colour key in the top-left corner: a light panel, per entry a colour square and its name."""
        if not self._legend:
            return
        top = self._rect.height - LEGEND_MARGIN
        panel_height = LEGEND_ROW * len(self._legend) + LEGEND_MARGIN
        mujoco.mjr_rectangle(mujoco.MjrRect(LEGEND_MARGIN, top - panel_height, LEGEND_WIDTH, panel_height), 1, 1, 1, 0.75)
        for row, (label, rgba) in enumerate(self._legend):
            bottom = top - LEGEND_ROW * (row + 1)
            mujoco.mjr_rectangle(mujoco.MjrRect(2 * LEGEND_MARGIN, bottom, LEGEND_SWATCH, LEGEND_SWATCH), *rgba)
            mujoco.mjr_rectangle(self._rect, 0, 0, 0, 0)  # nothing drawn: mjr_text places text in the last viewport
            mujoco.mjr_text(mujoco.mjtFont.mjFONT_NORMAL, label, self._context,
                            (3 * LEGEND_MARGIN + LEGEND_SWATCH) / self._rect.width, (bottom + 1) / self._rect.height,
                            0.1, 0.1, 0.1)

    def close(self) -> None:
        """Free the GL resources."""
        if self._gl is not None:
            self._gl.make_current()
            self._context.free()
            self._gl.free()
            self._gl = None


def legend_entries(persons: int, ghost: bool, contact_forces: bool) -> list[tuple[str, tuple[float, ...]]]:
    """(name, RGBA) of what a frame shows: the persons by role, the reference ghost and the contact forces."""
    roles = ("supporter", "recipient") if persons == 2 else ("person",)
    entries = [(role, AGENT_COLORS[agent]) for agent, role in enumerate(roles)]
    if ghost:
        entries.append(("reference (ghost)", (*GHOST_RGBA[:3], 0.6)))
    if contact_forces:
        entries.append(("contact force", CONTACT_FORCE_RGBA))
    return entries


def write_mp4(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """Encode (H, W, 3) uint8 frames (even H and W) as an H.264 MP4 at `fps` with imageio-ffmpeg's own ffmpeg,
    into a temporary file renamed to `path` when complete. Returns the number of frames written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial.mp4")
    count = 0
    writer = imageio.get_writer(partial, fps=fps, codec="libx264", pixelformat="yuv420p", macro_block_size=2,
                                ffmpeg_log_level="error")
    try:
        for frame in frames:
            writer.append_data(frame)
            count += 1
    except BaseException:
        writer.close()  # ffmpeg must be done with the file before it goes
        partial.unlink(missing_ok=True)
        raise
    writer.close()
    partial.replace(path)
    return count
