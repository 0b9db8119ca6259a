"""Same params, same metrics: on one machine (a forced rerun of the tiny profile writes byte-identical
metrics files) and across CPUs (two processes started under different instruction-set settings,
emulating two machines, agree bit for bit once ``recsys_challenges.determinism`` pins the dispatch)."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recsys_challenges import determinism
from recsys_challenges.workers import available_cores
from tests.conftest import BIN, ROOT, run_checked

RETRAINED = re.compile(r"_(train|stream|evaluate)(@|$)")

# ATen's AVX-512 kernels and OpenBLAS's SkylakeX ones need these; forcing them on a CPU without
# them dies of SIGILL (AMD Zen 3), so emulated CPU A takes the widest set the host really has.
AVX512_KERNELS = frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})
AVX2_KERNELS = frozenset({"avx2", "fma"})


def host_cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The instruction-set flags of this machine's first CPU (empty where /proc/cpuinfo is absent)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    return next((frozenset(line.split(":", 1)[1].split()) for line in text.splitlines() if line.startswith("flags")), frozenset())


def fastest_emulable_cpu(flags: frozenset[str]) -> tuple[dict[str, str] | None, str]:
    """Emulated CPU A: the settings the libraries would pick on a 2-core server with the widest
    vector set ``flags`` holds (AVX-512, else AVX2), and a reason naming what is missing when the
    host has neither (then nothing can be emulated against CPU B)."""
    if AVX512_KERNELS <= flags:
        isa = {"ATEN_CPU_CAPABILITY": "avx512", "OPENBLAS_CORETYPE": "SkylakeX"}
    elif AVX2_KERNELS <= flags:
        isa = {"ATEN_CPU_CAPABILITY": "avx2", "OPENBLAS_CORETYPE": "Haswell"}
    else:
        return None, f"this CPU lacks {' and '.join(sorted(AVX2_KERNELS - flags))}: no vectorised CPU to emulate"
    return isa | {"MKL_CBWR": "AUTO", "ONEDNN_MAX_CPU_ISA": "ALL", "OMP_NUM_THREADS": "2"}, ""


# What the libraries would pick on two different machines: CPU A above, and an older CPU (no AVX2
# kernels in torch, SSE4.2 in MKL and oneDNN, Sandy Bridge OpenBLAS, numpy at its SSE4.2 baseline)
# with 1 core.
CPU_A, NO_CPU_A = fastest_emulable_cpu(host_cpu_flags())
CPU_B = {
    "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41",
    "OPENBLAS_CORETYPE": "Sandybridge", "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    "OMP_NUM_THREADS": "1",
}
CPUS = {"a": CPU_A, "b": CPU_B}
needs_cpu_a = pytest.mark.skipif(CPU_A is None, reason=NO_CPU_A)

# Runs the package's entry point (``python -m recsys_challenges``, which applies the pins), then a
# small computation on each dispatched path: MKL's sgemm, ATen's vectorised exp/log/reductions, a
# few Adam steps of a linear model, numpy's ufuncs and OpenBLAS. Prints a hash per result and what
# each library reports it dispatched to.
PROBE = r"""
import contextlib, hashlib, io, json, runpy, sys
sys.argv = ["recsys_challenges", "--help"]
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    runpy.run_module("recsys_challenges", run_name="__main__", alter_sys=True)
import numpy as np, threadpoolctl, torch
from numpy._core._multiarray_umath import __cpu_features__

torch.manual_seed(0)
x, w = torch.randn(4096, 64), torch.randn(64, 1, requires_grad=True)
y = (torch.rand(4096, 1) < 0.3).float()
optimiser = torch.optim.Adam([w], lr=0.01)
for _ in range(5):
    optimiser.zero_grad()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w, y)
    loss.backward()
    optimiser.step()
r = np.random.default_rng(0).standard_normal(100_000)
results = {
    "torch_matmul": x @ x[:64].T, "torch_exp_sum": x.exp().sum(1), "torch_logsigmoid": torch.nn.functional.logsigmoid(x),
    "torch_adam": w.detach(), "numpy_exp": np.exp(r), "numpy_log": np.log1p(np.abs(r)), "numpy_blas": r.reshape(100, 1000) @ r[:1000],
}
digest = {k: hashlib.sha256(np.ascontiguousarray(v.numpy() if hasattr(v, "numpy") else v).tobytes()).hexdigest() for k, v in results.items()}
blas = {i["internal_api"]: [i.get("architecture"), i["num_threads"]] for i in threadpoolctl.threadpool_info()}
print(json.dumps({"digest": digest, "aten": torch.backends.cpu.get_cpu_capability(), "torch_threads": torch.get_num_threads(),
                  "numpy_avx512": __cpu_features__["X86_V4"], "openblas": blas.get("openblas")}))
"""


@functools.cache
def _probe(cpu_name: str, pins: str) -> tuple[dict, str]:
    """The probe's report and MKL's verbose log, in a process started under ``CPUS[cpu_name]``."""
    cpu = CPUS[cpu_name]
    env = os.environ | cpu | {"PYTHONPATH": str(ROOT / "src"), determinism.SWITCH: pins, "MKL_VERBOSE": "1"}
    if "NPY_DISABLE_CPU_FEATURES" not in cpu:
        env.pop("NPY_DISABLE_CPU_FEATURES", None)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    return json.loads(lines[-1]), "\n".join(lines[:-1])


def test_apply_pins_the_environment_unless_switched_off():
    environ = {"ATEN_CPU_CAPABILITY": "avx512", "HOME": "/home/x"}
    assert determinism.apply(environ) == determinism.PINS
    assert environ == {"HOME": "/home/x", **determinism.PINS}  # the outer setting is overridden
    for off in ("off", "0", "False", "no"):
        environ = {"ATEN_CPU_CAPABILITY": "avx512", determinism.SWITCH: off}
        assert determinism.apply(environ) == {}
        assert environ == {"ATEN_CPU_CAPABILITY": "avx512", determinism.SWITCH: off}


@needs_cpu_a
def test_pins_take_effect_in_the_entry_point_process():
    report, mkl_log = _probe("a", "on")
    assert report["aten"] == "AVX2"  # whatever the outer setting asks for (AVX512 where the host has it)
    assert report["torch_threads"] == 1
    assert report["numpy_avx512"] is False
    assert report["openblas"] == ["Haswell", 1]
    assert "CNR:COMPATIBLE" in mkl_log and "CNR:AUTO" not in mkl_log


def test_cpu_a_takes_the_widest_instruction_set_the_host_has():
    zen3 = frozenset({"sse4_2", "avx", "avx2", "fma", "bmi2"})
    assert fastest_emulable_cpu(zen3)[0]["ATEN_CPU_CAPABILITY"] == "avx2"
    assert fastest_emulable_cpu(zen3)[0]["OPENBLAS_CORETYPE"] == "Haswell"
    skylake = zen3 | AVX512_KERNELS
    assert fastest_emulable_cpu(skylake)[0]["ATEN_CPU_CAPABILITY"] == "avx512"
    assert fastest_emulable_cpu(skylake)[0]["OPENBLAS_CORETYPE"] == "SkylakeX"
    assert fastest_emulable_cpu(skylake - {"avx512bw"})[0]["ATEN_CPU_CAPABILITY"] == "avx2"
    settings, reason = fastest_emulable_cpu(frozenset({"sse4_2", "avx"}))
    assert settings is None and reason == "this CPU lacks avx2 and fma: no vectorised CPU to emulate"


def test_host_cpu_flags_reads_the_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert host_cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "fma"}
    assert host_cpu_flags(tmp_path / "absent") == frozenset()


@needs_cpu_a
def test_two_emulated_cpus_agree_bit_for_bit_with_the_pins():
    a, b = _probe("a", "on")[0], _probe("b", "on")[0]
    assert a["digest"] == b["digest"]


@needs_cpu_a
def test_control_two_emulated_cpus_differ_without_the_pins():
    """A/A control: the comparison above can fail. Without the pins the settings reach the kernels."""
    a, b = _probe("a", "off")[0], _probe("b", "off")[0]
    assert (a["aten"], b["aten"]) == (CPU_A["ATEN_CPU_CAPABILITY"].upper(), "DEFAULT")
    differing = {k for k in a["digest"] if a["digest"][k] != b["digest"][k]}
    # MKL's SSE4.2 branch against its automatic dispatch and ATen's scalar kernels against its
    # vectorised ones round differently on every x86-64 CPU
    assert {"torch_matmul", "torch_logsigmoid"} <= differing, differing


def _metrics(work) -> dict:
    return {p.relative_to(work): p.read_bytes() for p in sorted((work / "reports/metrics").rglob("*.json"))}


def _rerun_training(work, env: dict[str, str], first_dataset_only: bool = False) -> dict:
    """Force every training and evaluation stage of a tiny project to run again (``first_dataset_only``:
    those of each technique's first dataset, the same code on less data); its metrics files."""
    names = run_checked([str(BIN / "dvc"), "stage", "list", "--name-only"], work, env).stdout.split()
    stages = [name for name in names if RETRAINED.search(name)]  # dvc.yaml order: training before evaluation
    assert {s.split("_")[0] for s in stages} == {"directed", "delayed", "uncertainty"}
    if first_dataset_only:
        first: dict[str, str] = {}  # technique -> its first dataset in dvc.yaml order
        for name in stages:
            first.setdefault(name.split("_")[0], name.partition("@")[2])
        stages = [name for name in stages if name.partition("@")[2] == first[name.split("_")[0]]]
    run_checked([str(BIN / "dvc"), "repro", "--force", "--single-item", *stages], work, env)
    return _metrics(work)


def _copy(tiny_project, folder):
    # on a copy: the rerun rewrites intermediate files (wall times in training logs) that later
    # tests of the shared tiny project must find as the first repro left them
    shutil.copytree(tiny_project[0], folder, symlinks=True)
    return folder, tiny_project[1] | {"PYTHONPATH": str(folder / "src")}


def test_forced_rerun_gives_byte_identical_metrics(tiny_project, tmp_path):
    work, env = _copy(tiny_project, tmp_path / "project")
    before = _metrics(work)
    after = _rerun_training(work, env, first_dataset_only=True)
    assert after.keys() == before.keys()
    changed = [str(p) for p in before if before[p] != after[p]]
    assert not changed, f"metrics differ after a forced rerun: {changed}"


def test_one_worker_gives_the_metrics_of_a_pool(tiny_project, tmp_path):
    """The tiny project ran with ``workers: 1`` (every job in the stage's own process); a pool of two
    worker processes writes the same bytes (each technique's first dataset)."""
    if available_cores() < 2:
        pytest.skip("one core: a pool of two would share it")
    work, env = _copy(tiny_project, tmp_path / "project")
    before = _metrics(work)
    params = work / "params.yaml"
    assert "\nworkers: 1\n" in params.read_text(), "the tiny profile no longer runs one worker"
    params.write_text(params.read_text().replace("\nworkers: 1\n", "\nworkers: 2\n"))
    after = _rerun_training(work, env, first_dataset_only=True)
    changed = [str(p) for p in before if before[p] != after[p]]
    assert after.keys() == before.keys() and not changed, f"metrics differ between 1 worker and a pool: {changed}"


@pytest.mark.slow
@needs_cpu_a
def test_tiny_profile_gives_byte_identical_metrics_on_two_emulated_cpus(tiny_project, tmp_path):
    """Every training and evaluation stage of the tiny profile, rerun under CPU_A's and CPU_B's settings."""
    runs = {}
    for name, cpu in CPUS.items():
        work, env = _copy(tiny_project, tmp_path / name)
        runs[name] = _rerun_training(work, env | cpu | {determinism.SWITCH: "on"})
    assert runs["a"].keys() == runs["b"].keys()
    changed = [str(p) for p in runs["a"] if runs["a"][p] != runs["b"][p]]
    assert not changed, f"metrics differ between the two emulated CPUs: {changed}"
