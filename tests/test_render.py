"""`stage=render`: MP4 videos of a clip (kinematic, or tracked by a checkpoint with the reference ghost), headless;
without OpenGL, one clear sentence."""

import json
import math
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from assistmimic.sim.config import SimConfig
from assistmimic.stages.config import RenderConfig, RunConfig
from assistmimic.stages.render import render_policy_video, render_video
from assistmimic.viz.render import (
    RenderingUnavailable,
    SceneRenderer,
    legend_entries,
    open_gl_context,
    side_azimuth,
    write_mp4,
)
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import read_clips
from tests.conftest import REPO, robot_config, standard_impairment
from tests.test_eval_assist import clips_file, save_expert  # noqa: F401 (clips_file is a fixture)
from tests.test_run_cli import run_cli

SMALL = {"width": 96, "height": 64, "legend": False}  # the colour tests count pixels of the persons


@pytest.fixture(scope="module")
def gl():
    """Skip rendering tests on a machine without offscreen OpenGL (EGL or OSMesa)."""
    try:
        open_gl_context(16, 16).free()
    except RenderingUnavailable as err:
        pytest.skip(f"no offscreen OpenGL here: {err}")


def render(run_dir, checkpoint=None, data=None, **stage):
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg = RunConfig(run_dir=str(run_dir), checkpoint=None if checkpoint is None else str(checkpoint),
                    data=None if data is None else str(data), robot=robot_config(), sim=SimConfig(nthread=1),
                    impairment=standard_impairment(), stage=RenderConfig(**{**SMALL, **stage}))
    return render_video(cfg, run_dir)


def blue(frames):
    """Pixels of the supporter's colour (blue: 0.20, 0.45, 0.85)."""
    f = frames.astype(int)
    return (f[..., 2] > f[..., 0] + 60) & (f[..., 2] > f[..., 1] + 20)


def red(frames):
    """Pixels of the contact-force arrows (red: 0.9, 0.1, 0.1)."""
    f = frames.astype(int)
    return (f[..., 0] > 80) & (f[..., 1] < 0.35 * f[..., 0]) & (f[..., 2] < 0.35 * f[..., 0])


def orange(frames):
    """Pixels of the recipient's colour (orange: 0.90, 0.50, 0.15)."""
    f = frames.astype(int)
    return (f[..., 0] > f[..., 2] + 60) & (f[..., 0] > f[..., 1] + 20)


@pytest.mark.usefixtures("gl")
def test_kinematic_playback_video(tmp_path):
    summary = render(tmp_path, max_seconds=0.3)
    frames = iio.imread(summary["video"])
    assert summary["clip"] == "help_up_from_floor" and summary["task"] == "kinematic" and not summary["ghost"]
    assert frames.shape == (9, 64, 96, 3) and summary["frames"] == 9 and summary["fps"] == pytest.approx(30.0)
    assert summary["video"] == str(tmp_path / "videos" / "help_up_from_floor.mp4")
    assert frames.reshape(9, -1).std(axis=1).min() > 20  # not blank: floor, sky and persons
    assert blue(frames).sum(axis=(1, 2)).min() > 20 and orange(frames).sum(axis=(1, 2)).min() > 20


@pytest.mark.usefixtures("gl")
def test_expert_video_with_and_without_the_reference_ghost(tmp_path, clips_file):  # noqa: F811
    # Zero actions with residual targets follow the clip, so the ghost overlaps the persons from the start.
    checkpoint = save_expert(tmp_path / "expert.pt", clips_file)
    with_ghost = render(tmp_path / "a", checkpoint, max_seconds=0.2, output=str(tmp_path / "ghost.mp4"))
    without = render(tmp_path / "b", checkpoint, max_seconds=0.2, ghost=False)
    assert with_ghost["clip"] == "contact" and with_ghost["task"] == "assist" and with_ghost["ghost"]
    assert with_ghost["video"] == str(tmp_path / "ghost.mp4") and with_ghost["frames"] == 6
    ghost, plain = (iio.imread(s["video"]).astype(int) for s in (with_ghost, without))
    assert ghost.shape == plain.shape == (6, 64, 96, 3)
    assert blue(plain).sum(axis=(1, 2)).min() > 10 and orange(plain).sum(axis=(1, 2)).min() > 10
    assert (ghost[..., 1] - plain[..., 1] > 30).sum() > 100  # the translucent green ghost over the persons


@pytest.mark.usefixtures("gl")
def test_contact_forces_are_drawn_as_red_arrows(backend_factory):
    backend = backend_factory(num_envs=1)
    for _ in range(3):  # standing: the feet press on the floor
        backend.step(torch.zeros(1, 2, backend.num_dofs))
    images = []
    for contact_forces in (True, False):
        renderer = SceneRenderer(backend.scene, 160, 120, contact_forces=contact_forces)
        renderer.show_world(*backend.world_state(0))
        images.append(renderer.render())
        renderer.close()
    assert red(images[0]).sum() > 5 and not red(images[1]).any()


@pytest.mark.usefixtures("gl")
def test_a_legend_in_the_top_left_corner_names_the_colours(backend_factory):
    backend = backend_factory(num_envs=1)
    backend.step(torch.zeros(1, 2, backend.num_dofs))
    corners = []
    for legend in (True, False):
        renderer = SceneRenderer(backend.scene, 320, 240, legend=legend)
        renderer.show_world(*backend.world_state(0))
        corners.append(renderer.render()[:80, :160])
        renderer.close()
    assert all(colour(corners[0]).sum() > colour(corners[1]).sum() + 40 for colour in (blue, orange, red))  # (the sky is bluish)
    assert [name for name, _ in legend_entries(2, ghost=True, contact_forces=True)] == [
        "supporter", "recipient", "reference (ghost)", "contact force"]
    assert [name for name, _ in legend_entries(1, ghost=False, contact_forces=False)] == ["person"]


@pytest.mark.usefixtures("gl")
def test_single_person_prior_video(tmp_path):
    summary = render(tmp_path, REPO / "data" / "prior" / "smpl_prior_cpu.pt", max_seconds=0.1, fps=10, width=160,
                     height=120, ghost=False, contact_forces=False)
    assert summary["task"] == "tracking" and summary["clip"] == "stand" and summary["fps"] == 10
    frames = iio.imread(summary["video"])
    assert frames.shape == (3, 120, 160, 3) and blue(frames).sum(axis=(1, 2)).min() > 20 and not orange(frames).any()


@pytest.mark.usefixtures("gl")
def test_render_cli_plays_the_demo_clip_and_links_it_in_the_report(tmp_path):
    run_dir = tmp_path / "render"
    result = run_cli("stage=render", "stage.clip=support_rise_from_chair", "scene=chair", "stage.width=64",
                     "stage.height=48", "stage.max_seconds=0.5", "sim.nthread=1", f"run_dir={run_dir}",
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    video = run_dir / "videos" / "support_rise_from_chair.mp4"
    assert summary["stage"] == "render" and summary["video"] == str(video) and summary["frames"] == 15
    assert iio.imread(video).shape == (15, 48, 64, 3)
    assert f"report: {run_dir / 'report.html'}" in result.stdout
    assert "src='videos/support_rise_from_chair.mp4'" in (run_dir / "report.html").read_text()


def test_without_opengl_the_stage_ends_in_one_sentence(tmp_path):
    # libglvnd finds no EGL driver in an empty vendor folder: what a machine without EGL looks like to MuJoCo.
    env = {**os.environ, "MUJOCO_GL": "egl", "__EGL_VENDOR_LIBRARY_DIRS": str(tmp_path)}
    result = subprocess.run([sys.executable, str(REPO / "run.py"), "stage=render", f"run_dir={tmp_path / 'r'}",
                             "stage.max_seconds=0.1"], check=False, cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    if result.returncode == 0:
        pytest.skip("this machine's EGL does not honour __EGL_VENDOR_LIBRARY_DIRS")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "rendering needs EGL or OSMesa" in error[0] and "MUJOCO_GL=osmesa" in error[0]


@pytest.mark.usefixtures("gl")
def test_expert_stage_video_of_the_first_trained_clip(tmp_path, clips_file):  # noqa: F811
    cfg = RunConfig(robot=robot_config(), sim=SimConfig(nthread=1), impairment=standard_impairment())
    video = render_policy_video(cfg, save_expert(tmp_path / "expert.pt", clips_file), tmp_path)
    assert video == str(tmp_path / "videos" / "contact.mp4")
    assert iio.imread(video).shape == (29, 480, 640, 3)  # the default settings; 30 frames: 29 steps before the end


def test_expert_stage_video_is_a_warning_without_opengl(tmp_path, clips_file, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("MUJOCO_GL", "none-here")
    cfg = RunConfig(robot=robot_config(), sim=SimConfig(nthread=1), impairment=standard_impairment())
    assert render_policy_video(cfg, save_expert(tmp_path / "expert.pt", clips_file), tmp_path) is None
    out = capsys.readouterr().out
    assert out.startswith("warning: no video: rendering needs EGL or OSMesa") and out.count("\n") == 1


@pytest.mark.parametrize("settings, message", [
    ({"width": 95}, "must be even"), ({"fps": 0.0}, "stage.fps must be positive"),
    ({"max_seconds": -1.0}, "stage.max_seconds must be positive"), ({"clip": "dance"}, "has no clip 'dance'"),
])
def test_bad_settings_are_one_clear_error(tmp_path, settings, message):
    with pytest.raises(UserInputError, match=message):
        render(tmp_path, **settings)


def test_a_prior_cannot_render_two_person_clips(tmp_path):
    with pytest.raises(UserInputError, match="needs 1"):
        render(tmp_path, REPO / "data" / "prior" / "smpl_prior_cpu.pt", data=REPO / "data" / "demo" / "assist.pkl")


def test_frames_are_written_atomically(tmp_path):
    """A video whose frames fail half-way leaves no file behind."""
    def frames():
        yield np.zeros((16, 16, 3), dtype=np.uint8)
        raise RuntimeError("renderer died")

    with pytest.raises(RuntimeError):
        write_mp4(tmp_path / "v.mp4", frames(), 30.0)
    assert list(tmp_path.iterdir()) == []


def test_two_persons_are_filmed_from_the_side_of_the_line_between_them():
    assert side_azimuth(np.array([1.1, 0.0, 0.9]), np.array([0.0, 0.0, 0.15])) == pytest.approx(90.0)  # help-up
    supporter, recipient = np.array([0.22, -0.52, 0.94]), np.array([0.0, 0.0, 0.59])  # the chair clip's first frame
    azimuth = math.radians(side_azimuth(supporter, recipient))
    view = np.array([math.cos(azimuth), math.sin(azimuth)])
    assert view @ (recipient - supporter)[:2] == pytest.approx(0.0, abs=1e-9)
    assert math.degrees(azimuth) == pytest.approx(22.93, abs=0.01)  # of the two sides, the one nearer 90 degrees
    assert side_azimuth(recipient, recipient) == 90.0


@pytest.mark.usefixtures("gl")
def test_the_chair_clips_recipient_is_not_hidden_behind_the_supporter(tmp_path):
    video = render(tmp_path, data=REPO / "data" / "demo" / "assist.pkl", clip="support_rise_from_chair",
                   max_seconds=0.1, width=160, height=120)["video"]
    first = iio.imread(video, index=0)
    assert orange(first).sum() > 0.5 * blue(first).sum()


@pytest.mark.usefixtures("gl")
def test_the_ghost_is_the_persons_only_so_furniture_keeps_its_colour(backend_factory):
    from assistmimic.viz.playback import reference_poses
    from motion_lib.motion_library import MotionLibrary

    chair = next(c for c in read_clips(REPO / "data" / "demo" / "assist.pkl") if c.name == "support_rise_from_chair")
    backend = backend_factory(num_envs=1, clips=[chair])
    far = reference_poses(MotionLibrary([chair]), 0, backend.policy_dt, 1, torch.zeros(backend.num_dofs, 2))
    far.root_pos[..., 0] += 100.0  # the ghost persons out of view: only a ghost's furniture could show
    images = []
    for ghost in (False, True):
        renderer = SceneRenderer(backend.scene, 160, 120, ghost=ghost, contact_forces=False)
        renderer.show_furniture(backend.scene.furniture.poses(chair.furniture, "the chair clip"))
        renderer.show_world(*backend.world_state(0))
        if ghost:
            renderer.show_ghost(far, 0)
        images.append(renderer.render().astype(int))
        renderer.close()
    assert np.abs(images[0] - images[1]).max() <= 2
