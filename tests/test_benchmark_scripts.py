"""The training benchmarks end bad input (a size, a Hydra override) with one sentence and exit status 2."""

import subprocess
import sys

from tests.conftest import REPO
from tests.test_run_cli import assert_one_clear_error


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], capture_output=True, text=True,
                          timeout=300, check=False)


def test_a_bad_size_or_override_is_one_clear_sentence():
    result = run_benchmark("end_to_end.py", "--persons", "2", "--worlds", "0")
    assert_one_clear_error(result, "error: the number of worlds must be a positive integer, got 0")
    assert result.returncode == 2
    result = run_benchmark("stacked_experts.py", "--worlds", "3")
    assert_one_clear_error(result, "does not split into minibatches of 512")
    assert_one_clear_error(run_benchmark("stacked_experts.py", "sim.nthread=abc"), "error:", "sim.nthread=abc")
