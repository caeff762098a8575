"""`stage=convert` and `stage=inspect` from the command line: what they write, what they skip and why."""

import json

import numpy as np

from motion_lib.formats.phc import read_clips
from motion_lib.skeleton import get_skeleton
from tests.test_reader_interx import person_arrays, write_clip
from tests.test_run_cli import run_cli

SMPL = get_skeleton("smpl")


def test_convert_an_interx_folder_skips_a_truncated_file_and_keeps_the_rest(tmp_path):
    motions = tmp_path / "Inter-X" / "motions"
    for clip_id in ("G001T000A035R000", "G001T001A035R000", "G002T000A019R000"):
        write_clip(motions, clip_id)
    broken = motions / "G001T001A035R000" / "P2.npz"
    broken.write_bytes(broken.read_bytes()[:500])
    out, run_dir = tmp_path / "helpup.pkl", tmp_path / "run"
    result = run_cli("stage=convert", "source=interx", f"input={motions.parent}", f"output={out}",
                     "stage.actions=[35]", f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["clips_written"] == 1 and summary["clips_skipped"] == 1
    (skip,) = summary["skipped"]
    assert skip["name"] == "G001T001A035R000" and "P2.npz" in skip["reason"] and "truncated" in skip["reason"]
    (clip,) = read_clips(out)
    assert clip.name == "G001T000A035R000" and clip.fps == 30.0 and clip.num_frames == 10
    pelvis = np.array([p.root_pos[:, 2] for p in clip.persons])
    assert ((pelvis > 0.8) & (pelvis < 1.0)).all()
    distance = np.linalg.norm(clip.persons[0].root_pos[:, :2] - clip.persons[1].root_pos[:, :2], axis=1)
    np.testing.assert_allclose(distance, 1.0, atol=1e-6)


def test_convert_bad_settings_end_in_one_sentence(tmp_path):
    result = run_cli("stage=convert", "source=mocapx", f"input={tmp_path}", f"output={tmp_path / 'o.pkl'}",
                     f"run_dir={tmp_path / 'r'}", tmp_path=tmp_path)
    assert result.returncode == 2 and "unknown source 'mocapx'" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("stage=convert", "source=interx", f"output={tmp_path / 'o.pkl'}", f"run_dir={tmp_path / 'r2'}",
                     tmp_path=tmp_path)
    assert result.returncode == 2 and "needs input=" in result.stderr
    motions = tmp_path / "only_broken" / "motions"
    write_clip(motions, "G001T000A035R000", p2={**person_arrays(), "trans": np.zeros((3, 3))})
    result = run_cli("stage=convert", "source=interx", f"input={motions}", f"output={tmp_path / 'o.pkl'}",
                     f"run_dir={tmp_path / 'r3'}", tmp_path=tmp_path)
    assert result.returncode == 2 and "none of the 1 clips" in result.stderr and "P2.npz" in result.stderr
    assert not (tmp_path / "o.pkl").exists()


def test_inspect_reports_each_clip_and_draws_a_frame(tmp_path):
    motions = tmp_path / "Inter-X" / "motions"
    write_clip(motions, "G001T000A035R000")
    out = tmp_path / "pair.pkl"
    assert run_cli("stage=convert", "source=interx", f"input={motions}", f"output={out}", f"run_dir={tmp_path / 'c'}",
                   tmp_path=tmp_path).returncode == 0
    run_dir = tmp_path / "inspect"
    result = run_cli("stage=inspect", f"data={out}", "stage.png_frame=2", f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    (stats,) = summary["per_clip"]
    assert stats["frames"] == 10 and stats["fps"] == 30.0 and stats["persons"] == 2
    assert 0.8 < stats["root_height_m"][0] <= stats["root_height_m"][1] < 1.0
    assert 0.0 < stats["min_person_gap_m"] < 1.0 and stats["hand_contact_frames"] == 0
    assert (run_dir / "G001T000A035R000_frame2.png").stat().st_size > 10_000
    assert "G001T000A035R000" in (run_dir / "clips.csv").read_text()
    result = run_cli("stage=inspect", f"data={tmp_path / 'nope.pkl'}", f"run_dir={tmp_path / 'i2'}", tmp_path=tmp_path)
    assert result.returncode == 2 and "nope.pkl does not exist" in result.stderr
