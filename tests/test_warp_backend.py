"""The mujoco_warp backend on Warp's CPU device: same physics as the CPU backend (grips too), resets, divergence,
per-world parameters and furniture, buffer overflow counting, device choice and bad input.

Equivalence: both backends compile the same scene with the Newton solver (mujoco_warp has no PGS), start
from the same settled standing state and get the same PD targets: gentle sinusoids (0.1 rad on the upper
body, 0.02 rad on the legs) for 80 policy steps (320 physics steps at 120 Hz), two unimpaired persons per
world who keep their feet on the floor. Warp computes in float32, C MuJoCo in float64; measured here, the
largest differences over the run are 6e-5 m in body positions, 1e-4 in rotation-matrix entries, 7e-4 m/s and
2e-3 rad/s in body velocities, 0.15 N m in actuator torques. The test allows 1e-3 m / 1e-3 / 1e-2 m/s /
2e-2 rad/s: contact events (a foot edge touching down) amplify float32 rounding, and motion with falls or
impacts separates chaotically within a second or two.

Cold start: Warp compiles mujoco_warp's kernels for the CPU on first use (about 100 s for this file on two
shared cores, then cached in ~/.cache/warp or $WARP_CACHE_PATH); warm, this file runs in about 20 s.
"""

import math
import sys
from types import SimpleNamespace

import mujoco
import numpy as np
import pytest
import torch
import yaml

from assistmimic.envs.reference_state import HingeTable, reference_person_state
from assistmimic.mjcf.config import ImpairmentConfig, SceneConfig
from assistmimic.mjcf.humanoid import hinge_ranges
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_scene
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import read_clips
from motion_lib.motion_library import MotionLibrary
from tests.conftest import REPO, robot_config
from tests.test_cpu_backend import (
    _place_recipient_chest_at_supporter_hand,
    assert_half_gain_and_heavier_supporter,
    assert_reset_of_world_1,
    rest_state,
)

STEPS_PER_SECOND = 30


@pytest.fixture
def warp_cpu():
    """Warp, quiet, or a skip when mujoco_warp is not installed (it comes with `pip install -e ".[gpu]"`)."""
    pytest.importorskip("mujoco_warp", reason="mujoco_warp is not installed (pip install -e \".[gpu]\")")
    import warp as wp

    level = wp.config.log_level
    wp.config.log_level = wp.LOG_WARNING
    yield wp
    wp.config.log_level = level


@pytest.fixture
def twin_backends(warp_cpu):
    """factory(num_envs, **sim) -> (CpuBackend, WarpBackend on Warp's cpu) of one scene, Newton solver, closed after."""
    created = []

    def factory(num_envs, scene=None, clips=(), **sim_kwargs):
        cpu_sim = SimConfig(nthread=1, solver="Newton", **sim_kwargs)
        warp_sim = SimConfig(backend="warp", device="cpu", solver="Newton", **sim_kwargs)
        scene_model = make_scene(robot_config(), scene or SceneConfig(), cpu_sim, ImpairmentConfig(), clips)
        pair = make_backend(scene_model, cpu_sim, num_envs), make_backend(scene_model, warp_sim, num_envs)
        created.extend(pair)
        return pair

    yield factory
    for backend in created:
        backend.close()


def warp_backend(factory, num_envs, **sim_kwargs):
    return factory(num_envs, backend="warp", device="cpu", solver="Newton", **sim_kwargs)


def gentle_targets(backend, steps, seed=0):
    """(steps, E, A, D) PD targets: sinusoids of 0.1 rad on upper-body hinges and 0.02 rad on the legs, faded in."""
    generator = torch.Generator().manual_seed(seed)
    shape = (backend.num_envs, backend.n_agents, backend.num_dofs)
    phase, freq = 2 * math.pi * torch.rand(shape, generator=generator), 0.5 + torch.rand(shape, generator=generator)
    groups = np.repeat(np.array(backend.skeleton.groups[1:]), 3)
    amplitude = torch.from_numpy(np.where(np.isin(groups, ["hip", "knee", "ankle", "toe"]), 0.02, 0.1)).float()
    t = torch.arange(steps, dtype=torch.float32)[:, None, None, None] / STEPS_PER_SECOND
    return amplitude * torch.sin(2 * math.pi * freq * t + phase) * (1 - torch.exp(-t * STEPS_PER_SECOND / 10))


def settle_both(cpu, warp, steps=10):
    """Both backends in the state the CPU backend reaches standing for `steps` policy steps."""
    for _ in range(steps):
        cpu.step(torch.zeros(cpu.num_envs, cpu.n_agents, cpu.num_dofs))
    state = cpu.person_state()
    ids = torch.arange(cpu.num_envs)
    cpu.reset_worlds(ids, state)
    warp.reset_worlds(ids, state)


def test_matches_the_cpu_backend_while_standing_and_moving_gently(twin_backends):
    cpu, warp = twin_backends(2)
    settle_both(cpu, warp)
    worst = {"pos": 0.0, "rot": 0.0, "lin_vel": 0.0, "ang_vel": 0.0}
    for targets in gentle_targets(cpu, 80):
        assert not cpu.step(targets).any() and not warp.step(targets).any()
        a, b = cpu.body_state(), warp.body_state()
        worst["pos"] = max(worst["pos"], (a.pos - b.pos).norm(dim=-1).max().item())
        worst["rot"] = max(worst["rot"], (a.rot - b.rot).abs().max().item())
        worst["lin_vel"] = max(worst["lin_vel"], (a.lin_vel - b.lin_vel).norm(dim=-1).max().item())
        worst["ang_vel"] = max(worst["ang_vel"], (a.ang_vel - b.ang_vel).norm(dim=-1).max().item())
    assert cpu.body_state().pos[:, :, 0, 2].min() > 0.85  # both persons still standing: a gentle motion
    assert worst["pos"] < 1e-3 and worst["rot"] < 1e-3, worst
    assert worst["lin_vel"] < 1e-2 and worst["ang_vel"] < 2e-2, worst
    torch.testing.assert_close(warp.actuator_torque(), cpu.actuator_torque(), atol=1.0, rtol=1e-2)
    assert warp.diverged_total == 0 and warp.overflow_total == 0 and cpu.overflow_total == 0


def test_feet_carry_the_body_weight_as_on_the_cpu(twin_backends):
    cpu, warp = twin_backends(1, scene=SceneConfig(spacing=3.0))
    for _ in range(STEPS_PER_SECOND):
        cpu.step(torch.zeros(1, 2, cpu.num_dofs))
        warp.step(torch.zeros(1, 2, warp.num_dofs))
    feet_cpu, feet_warp = cpu.foot_contact_force()[0], warp.foot_contact_force()[0]
    # The feet push down on the floor with about 70 kg * 9.81 per person, and the two backends agree.
    assert feet_warp[..., 2].sum(-1).numpy() == pytest.approx([-70 * 9.81] * 2, rel=0.15)
    torch.testing.assert_close(feet_warp.sum(1), feet_cpu.sum(1), atol=5.0, rtol=0.02)


def test_hand_contact_force_agrees_with_the_cpu(twin_backends):
    cpu, warp = twin_backends(2)
    for backend in (cpu, warp):
        backend.reset_worlds(torch.tensor([1]), _place_recipient_chest_at_supporter_hand(backend, [1]))
        backend.step(torch.zeros(2, 2, backend.num_dofs))
    force_cpu, force_warp = cpu.hand_contact_force(), warp.hand_contact_force()
    assert force_warp[0].abs().max() == 0.0  # apart: nothing
    assert force_warp[1].norm(dim=-1).max() > 1.0  # the supporter's hand presses into the recipient's chest
    torch.testing.assert_close(force_warp, force_cpu, atol=2.0, rtol=0.05)
    body_cpu, body_warp = cpu.partner_contact_force(), warp.partner_contact_force()  # (E, A, 3): the whole bodies
    assert body_warp[0].abs().max() == 0.0 and body_warp[1, 0].norm() > 1.0
    torch.testing.assert_close(body_warp, body_cpu, atol=2.0, rtol=0.05)


def test_a_grip_holds_a_limp_forearm_as_on_the_cpu(warp_cpu):
    """tests/test_grip.py's held forearm (world 0 grips, world 1 does not) on both backends: mujoco_warp's adhesion
    actuator and contact sensors give the same hold, pull and support force."""
    from tests.test_grip import LIMP_ARMS, hold_forearm

    cpu_sim = SimConfig(nthread=1, solver="Newton")
    scene = make_scene(robot_config(), SceneConfig(), cpu_sim, LIMP_ARMS)
    cpu = make_backend(scene, cpu_sim, 2)
    warp = make_backend(scene, SimConfig(backend="warp", device="cpu", solver="Newton"), 2)
    (start, heights_cpu, support_cpu, pull_cpu), (_, heights_warp, support_warp, pull_warp) = (
        hold_forearm(backend) for backend in (cpu, warp))
    held, dropped = heights_warp[-1]
    assert held > start[0] - 0.3 and dropped < held - 0.1
    torch.testing.assert_close(heights_warp, heights_cpu, atol=0.02, rtol=0)
    assert pull_warp[-1, 0].norm() == pytest.approx(500.0, rel=1e-4) and pull_warp[:, 1].abs().max() == 0.0
    torch.testing.assert_close(pull_warp[-10:, 0].mean(0), pull_cpu[-10:, 0].mean(0), atol=25.0, rtol=0)
    assert support_warp[-10:, 0].mean() == pytest.approx(support_cpu[-10:, 0].mean().item(), rel=0.3)
    assert torch.equal(warp.grip_command(), cpu.grip_command())
    cpu.close()
    warp.close()


def test_both_backends_place_the_same_furniture(twin_backends):
    """The demo chair under world 1's seated recipient (by id on the CPU, through the mask on Warp), world 0's slot
    parked; PD targets hold the seated pose: on both backends alike the recipient rests on the chair in world 1
    and falls in world 0."""
    clip = next(c for c in read_clips(REPO / "data" / "demo" / "assist.pkl") if c.name == "support_rise_from_chair")
    cpu, warp = twin_backends(2, clips=[clip])
    library = MotionLibrary([clip])
    ranges = torch.as_tensor(hinge_ranges(cpu.skeleton), dtype=torch.float32)
    seated = reference_person_state(library, HingeTable(library, ranges), torch.zeros(2, dtype=torch.long), torch.zeros(2))
    poses = torch.as_tensor(np.stack([cpu.furniture.poses(items, "test") for items in ([], clip.furniture)]),
                            dtype=torch.float32)
    cpu.place_furniture(torch.tensor([1]), poses[1:])
    warp.place_furniture_where(torch.tensor([False, True]), poses)
    pelvis = {}
    for backend in (cpu, warp):
        backend.reset_worlds(torch.arange(2), seated)
        heights = []
        for _ in range(STEPS_PER_SECOND):
            assert not backend.step(seated.joint_pos).any()
            heights.append(backend.body_state().pos[:, 1, 0, 2])
        pelvis[backend] = torch.stack(heights)
    seat = clip.furniture[0].size[2]
    for heights in pelvis.values():
        assert heights[:, 1].min() > seat + 0.12 and heights[-1, 0] < seat, heights[::5]
    assert (pelvis[cpu][:, 1] - pelvis[warp][:, 1]).abs().max() < 1e-3  # as standing: float32 against float64


def test_graph_replay_steps_as_eager_launches(warp_cpu, backend_factory):
    graph, eager = (warp_backend(backend_factory, 1, graph_capture=capture) for capture in (True, False))
    for targets in gentle_targets(graph, 8):
        graph.step(targets)
        eager.step(targets)
    for a, b in zip(graph.generalized_state(), eager.generalized_state()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_reset_worlds_and_reset_to_default_round_trip(warp_cpu, backend_factory):
    backend = warp_backend(backend_factory, 3)
    default = [t.clone() for t in backend.generalized_state()]
    for _ in range(3):
        backend.step(0.1 * torch.ones(3, 2, backend.num_dofs))
    generator = torch.Generator().manual_seed(4)
    new = rest_state(backend, [0], height_offset=0.2)
    new.root_quat = torch.nn.functional.normalize(torch.randn(1, 2, 4, generator=generator), dim=-1)
    new.joint_pos = 0.3 * torch.randn(1, 2, backend.num_dofs, generator=generator)
    new.root_lin_vel = torch.tensor([[[0.5, 0.0, 0.0], [0.0, -0.2, 0.1]]])
    new.root_ang_vel = torch.tensor([[[0.0, 0.0, 1.0], [0.3, 0.0, 0.0]]])
    new.joint_vel = torch.randn(1, 2, backend.num_dofs, generator=generator)
    assert_reset_of_world_1(backend, new)
    assert backend.actuator_torque()[1].abs().max() == 0.0  # sensors of a reset world read 0 until it steps

    # The host state for rendering holds the same pose.
    model, data = backend.model, mujoco.MjData(backend.model)
    state, ctrl = backend.world_state(1)
    mujoco.mj_setState(model, data, state, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    np.testing.assert_allclose(data.qpos[backend.layout.qpos_joint[0]], new.joint_pos[0, 0].numpy(), atol=1e-6)
    assert ctrl.shape == (model.nu,) and data.time == 0.0

    backend.reset_to_default(torch.tensor([0, 1, 2]))
    for a, b in zip(backend.generalized_state(), default):
        torch.testing.assert_close(a, b)
    assert not backend.step(torch.zeros(3, 2, backend.num_dofs)).any()


def test_diverged_worlds_are_reset_counted_and_the_others_untouched(warp_cpu, backend_factory):
    backend = warp_backend(backend_factory, 4)
    backend.step(torch.zeros(4, 2, backend.num_dofs))
    backend._qpos[1, backend.layout.qpos_joint[0, 4]] = float("nan")  # a NaN in world 1's qpos (a hinge angle)
    backend._qvel[2, 10] = 1e4  # runaway velocity in world 2
    diverged = backend.step(torch.zeros(4, 2, backend.num_dofs))
    assert diverged.tolist() == [False, True, True, False] and diverged.dtype == torch.bool
    assert backend.diverged_total == 2
    for tensor in (*backend.generalized_state(), backend.body_state().pos, backend.actuator_torque(),
                   backend.hand_contact_force(), backend.foot_contact_force()):
        assert torch.isfinite(tensor).all()
    # Worlds 0 and 3 started alike and were left alone: still alike, and not reset (they have moved on).
    for tensor in backend.generalized_state():
        torch.testing.assert_close(tensor[0], tensor[3], atol=0, rtol=0)
    torch.testing.assert_close(backend._qpos[1:3], backend._default_qpos.expand(2, -1))
    assert backend._time[1:3].eq(0).all() and backend._time[[0, 3]].gt(0).all()
    assert not backend.step(torch.zeros(4, 2, backend.num_dofs)).any()
    assert backend.diverged_total == 2


def test_per_world_parameters_change_torque_sag_and_weight(warp_cpu, backend_factory):
    backend = warp_backend(backend_factory, 3, scene=SceneConfig(spacing=3.0))
    ones = torch.ones(1, 2)
    backend.set_world_params(torch.tensor([1]), mass_scale=ones, kp_scale=torch.tensor([[0.5, 1.0]]),
                             kd_scale=torch.tensor([[0.5, 1.0]]))
    backend.set_world_params(torch.tensor([2]), mass_scale=torch.tensor([[1.5, 1.0]]), kp_scale=ones, kd_scale=ones)
    lay = backend.layout
    mass = backend._body_mass
    assert mass[2, lay.body[0]].sum() == pytest.approx(1.5 * mass[0, lay.body[0]].sum().item(), rel=1e-6)
    assert mass[2, lay.body[1]].sum() == pytest.approx(mass[0, lay.body[1]].sum().item(), rel=1e-6)
    subtree = backend._wp_model.body_subtreemass.numpy()  # derived by set_const, per world
    assert subtree[2, lay.body[0, 0]] == pytest.approx(1.5 * subtree[0, lay.body[0, 0]], rel=1e-5)

    # The same error, half the gains: half the torque (one physics step from identical states).
    one_substep = warp_backend(backend_factory, 2, substeps=1)
    one_substep.set_world_params(torch.tensor([1]), mass_scale=ones, kp_scale=torch.tensor([[0.5, 1.0]]),
                                 kd_scale=torch.tensor([[0.5, 1.0]]))
    one_substep.step(0.2 * torch.ones(2, 2, one_substep.num_dofs))
    torque = one_substep.actuator_torque()
    torch.testing.assert_close(torque[1, 0], 0.5 * torque[0, 0], rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(torque[1, 1], torque[0, 1], rtol=1e-4, atol=1e-3)

    assert_half_gain_and_heavier_supporter(backend)


def test_full_contact_buffers_are_counted_as_overflow(warp_cpu, backend_factory):
    backend = warp_backend(backend_factory, 2, nconmax=2)
    assert backend.nconmax == 2 and backend.overflow_total == 0
    for _ in range(3):
        backend.step(torch.zeros(2, 2, backend.num_dofs))
    assert backend.overflow_total > 0  # standing needs about 19 contacts per world
    assert torch.isfinite(backend.body_state().pos).all()
    roomy = warp_backend(backend_factory, 2)
    assert roomy.nconmax == 64 and roomy.njmax == 4 * 64 + 2 * 69  # 4 rows per contact, one per joint limit
    roomy.step(torch.zeros(2, 2, roomy.num_dofs))
    assert roomy.overflow_total == 0


def test_device_choice(warp_cpu, monkeypatch, capsys):
    from assistmimic.sim import warp_backend as module

    assert module.resolve_device("cpu") == "cpu" and "warning" not in capsys.readouterr().out
    assert module.resolve_device(None) == "cpu"  # no GPU here
    assert "warning: sim=warp sees no GPU and runs on Warp's CPU device" in capsys.readouterr().out
    with pytest.raises(UserInputError, match="sim.device 'tpu:0' is not a Warp device here; available: cpu"):
        module.resolve_device("tpu:0")
    monkeypatch.setattr(module.wp, "get_cuda_device_count", lambda: 2)
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(UserInputError, match=r"'cuda:1' \(sim.device null picks cuda:\$LOCAL_RANK\) is not a Warp"):
        module.resolve_device(None)  # two GPUs seen, but not on this machine
    monkeypatch.setattr(module.wp, "get_device", lambda name: SimpleNamespace(alias=name))
    assert module.resolve_device(None) == "cuda:1"  # torchrun's local rank 1 gets the second GPU


def test_warp_says_where_its_kernels_are_cached_once_instead_of_a_line_per_module(warp_cpu, backend_factory,
                                                                                  monkeypatch, capsys):
    from assistmimic.sim import warp_backend as module

    monkeypatch.setattr(module, "_announced_devices", set())
    warp_cpu.config.log_level = warp_cpu.LOG_INFO  # Warp's default (the fixture restores it after)
    warp_backend(backend_factory, 1)
    warp_backend(backend_factory, 1)
    assert warp_cpu.config.log_level == warp_cpu.LOG_WARNING

    @warp_cpu.kernel
    def double(x: warp_cpu.array(dtype=float)):  # a kernel module this process has not loaded yet
        i = warp_cpu.tid()
        x[i] = 2.0 * x[i]

    values = warp_cpu.ones(4, dtype=float, device="cpu")
    warp_cpu.launch(double, dim=4, inputs=[values], device="cpu")
    assert values.numpy().tolist() == [2.0] * 4
    out = capsys.readouterr().out
    assert out.count("Warp on cpu: mujoco_warp's kernels load on the first steps") == 1, out
    assert "Module" not in out, out


def test_bad_configuration_is_one_clear_error(warp_cpu, backend_factory):
    with pytest.raises(UserInputError, match="mujoco_warp has no PGS solver; use sim.solver=Newton or CG"):
        backend_factory(num_envs=1, backend="warp", device="cpu", solver="PGS")
    backend = warp_backend(backend_factory, 2)
    with pytest.raises(UserInputError, match=r"pd_targets must have shape \(2, 2, 69\)"):
        backend.step(torch.zeros(2, 69))
    with pytest.raises(UserInputError, match="world ids must lie in"):
        backend.reset_to_default(torch.tensor([5]))
    with pytest.raises(UserInputError, match="must be positive"):
        backend.set_world_params(torch.tensor([0]), torch.tensor([[0.0, 1.0]]), torch.ones(1, 2), torch.ones(1, 2))


def test_unknown_backend_and_missing_package_are_one_clear_error(monkeypatch):
    scene = make_scene(robot_config(), SceneConfig(), SimConfig(), ImpairmentConfig())
    with pytest.raises(UserInputError, match="unknown sim.backend 'quantum'; available: cpu, warp"):
        make_backend(scene, SimConfig(backend="quantum"), 1)
    monkeypatch.setitem(sys.modules, "mujoco_warp", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "assistmimic.sim.warp_backend", raising=False)
    with pytest.raises(UserInputError, match=r'needs mujoco-warp and warp-lang, .* pip install -e "\.\[gpu\]"'):
        make_backend(scene, SimConfig(backend="warp", solver="Newton"), 1)


def test_warp_config_file_is_a_valid_sim_config():
    raw = yaml.safe_load((REPO / "configs" / "sim" / "warp.yaml").read_text())
    raw.pop("defaults")
    sim = SimConfig(**raw)
    assert sim.backend == "warp" and sim.solver == "Newton" and sim.device is None and sim.nconmax is None
