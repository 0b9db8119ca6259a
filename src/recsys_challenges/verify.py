"""``make verify``: rerun the pipeline from scratch in a separate workspace and compare with the committed results.

``make repro`` on a fresh clone reruns only what is out of date: committed outputs that match
``dvc.lock`` are not recomputed. ``verify`` copies the project (its files as a clean clone has
them, not its data, DVC cache or ``.git``) into a temporary folder, gives it a DVC cache of its
own and deletes the committed outputs of every stage but the frozen ones, then runs ``dvc repro
--no-run-cache`` there (every stage but the frozen ones, fetch included, from ``RECSYS_DATA_MIRROR``
when set; no stage is restored from a run cache), and prints

* claim by claim: the committed verdict (``reports/claims.json`` of this workspace), the
  reproduced one, and whether they agree;
* metrics file by metrics file (``reports/metrics/**.json`` and the headline numbers derived from
  them, ``reports/headline/*.json``): how many numbers it holds, the largest absolute difference
  between committed and reproduced, where it is, and whether it is within :data:`TOLERANCE` (wall
  times, throughputs, memory peaks and machine facts are left out: they measure the machine, not
  the method; the benchmarks of ``reports/bench/`` run under ``make bench``, not here).

Exit status 1 when a verdict disagrees (or a claim or metrics file is missing on one side);
``--strict`` also fails on a metric beyond the tolerance. ``--technique`` reruns one technique's
stages (with their upstream data stages) and the report, and compares that technique's claims
and files only. Nothing in this workspace is written but the rerun's profile,
:data:`PROFILE_FILE` (wall and CPU seconds of every stage; the ten slowest are printed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from recsys_challenges.io import write_json
from recsys_challenges.stage_times import STAGE_TIMES, cpu_seconds, read_lines, render_slowest, summarise
from recsys_challenges.workers import available_cores

TECHNIQUES = ("directed", "delayed", "uncertainty")
CLAIMS_FILE = Path("reports/claims.json")
# the headline files are compared too: a rerun that changed no payload must rewrite them identically;
# the benchmarks (reports/bench/) measure the machine and run under `make bench`, not `dvc repro`
METRICS_GLOBS = ("reports/metrics/**/*.json", "reports/headline/*.json")
PROFILE_FILE = Path("reports/bench/stage_times.json")

# Bit-identity is guaranteed on one machine only: there a rerun writes every metrics file byte for byte
# (tests/test_determinism.py). Across CPUs it is not: the pins of recsys_challenges.determinism make two
# emulated instruction sets agree, but real CPUs (an Intel Xeon against this AMD EPYC: README, "Determinism
# across CPUs") still differ in the last bits, which training can grow. verify accepts float noise within
# TOLERANCE and lists any larger difference (BEYOND), failing on it only with --strict; the verdicts must
# agree in any case. Zero lists every difference.
TOLERANCE = 0.0

# a path component that names a measure of the machine (time, throughput, memory) rather than a result
_MACHINE_MEASURE = re.compile(r"(^|_)(s|seconds)(_all|_max)?$|per_s|speedup|ratio|rss|gib|load_average|^machine$")


def numbers(payload: Any, path: str = "") -> Iterator[tuple[str, float]]:
    """Every number in a JSON document with its path (``a.b[2].c``); booleans are not numbers."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            yield from numbers(value, f"{path}.{key}" if path else str(key))
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            yield from numbers(value, f"{path}[{index}]")
    elif isinstance(payload, (int, float)) and not isinstance(payload, bool):
        yield path, float(payload)


def measures_the_machine(path: str) -> bool:
    """Whether a number's path names a wall time, throughput, memory peak or machine fact."""
    return any(_MACHINE_MEASURE.search(re.sub(r"\[\d+\]", "", part)) for part in path.split("."))


@dataclass(frozen=True)
class VerdictRow:
    claim_id: str
    committed: str | None  # None: the claim is missing on that side
    reproduced: str | None

    @property
    def agree(self) -> bool:
        return self.committed is not None and self.committed == self.reproduced


@dataclass(frozen=True)
class MetricRow:
    file: str
    compared: int  # numbers compared (machine measures left out)
    max_abs_diff: float  # inf when the file, a number or the file's structure is missing on one side
    where: str  # the path of the largest difference ("" when none)
    rerun: bool = True  # False for a file the rerun did not rewrite (a frozen stage's output, or no stage's)

    @property
    def within(self) -> bool:
        return self.max_abs_diff <= TOLERANCE


def compare_verdicts(committed: dict[str, dict], reproduced: dict[str, dict], technique: str | None = None) -> list[VerdictRow]:
    """One row per claim of either ``claims.json`` payload (only ``technique``'s claims when given)."""
    def chosen(claims: dict[str, dict]) -> dict[str, str]:
        return {cid: entry["verdict"] for cid, entry in claims.items() if technique in (None, entry.get("technique"))}

    before, after = chosen(committed), chosen(reproduced)
    return [VerdictRow(cid, before.get(cid), after.get(cid)) for cid in sorted(before.keys() | after.keys())]


def compare_numbers(committed: Any, reproduced: Any) -> tuple[int, float, str]:
    """(numbers compared, largest absolute difference, its path) between two JSON documents.

    A number present on one side only, or a non-finite difference (NaN against a number), counts
    as an infinite difference; equal NaNs and equal infinities agree.
    """
    before = {p: v for p, v in numbers(committed) if not measures_the_machine(p)}
    after = {p: v for p, v in numbers(reproduced) if not measures_the_machine(p)}
    largest, where = 0.0, ""
    for path in sorted(before.keys() | after.keys()):
        a, b = before.get(path), after.get(path)
        if a is None or b is None:
            diff = math.inf
        elif a == b or (math.isnan(a) and math.isnan(b)):
            diff = 0.0
        else:
            diff = abs(a - b)
            diff = math.inf if math.isnan(diff) else diff
        if diff > largest:
            largest, where = diff, path
    return len(before.keys() | after.keys()), largest, where


def compare_files(committed: dict[str, Any], reproduced: dict[str, Any], not_rerun: frozenset[str] = frozenset()) -> list[MetricRow]:
    """One row per metrics file (relative path -> parsed JSON) of either side; ``not_rerun``: files the rerun did not rewrite."""
    rows = []
    for name in sorted(committed.keys() | reproduced.keys()):
        if name not in committed or name not in reproduced:
            rows.append(MetricRow(name, 0, math.inf, "(missing on the " + ("committed" if name not in committed else "reproduced") + " side)"))
            continue
        count, largest, where = compare_numbers(committed[name], reproduced[name])
        rows.append(MetricRow(name, count, largest, where, rerun=name not in not_rerun))
    return rows


def render(verdicts: list[VerdictRow], metrics: list[MetricRow]) -> str:
    """The table ``verify`` prints: verdicts claim by claim, then metrics file by file."""
    lines = ["| claim | committed verdict | reproduced verdict | agree |", "|---|---|---|---|"]
    lines += [f"| {r.claim_id} | {r.committed or '(missing)'} | {r.reproduced or '(missing)'} | {'yes' if r.agree else 'NO'} |"
              for r in verdicts]
    lines += ["", f"| metrics file | numbers | largest abs. difference | at | within {TOLERANCE:g} |", "|---|---|---|---|---|"]
    for r in metrics:
        within = "yes" if r.within else "NO"
        lines.append(f"| {r.file} | {r.compared} | {r.max_abs_diff:.3g} | {r.where or '-'} | "
                     f"{within if r.rerun else within + ' (not rerun: committed file copied)'} |")
    disagree = [r.claim_id for r in verdicts if not r.agree]
    beyond = [r.file for r in metrics if not r.within]
    lines += ["", f"verdicts: {len(verdicts) - len(disagree)}/{len(verdicts)} agree"
              + (f"; DISAGREE: {', '.join(disagree)}" if disagree else ""),
              f"metrics: {len(metrics) - len(beyond)}/{len(metrics)} files within the tolerance {TOLERANCE:g}"
              + (f"; BEYOND: {', '.join(beyond)}" if beyond else "")]
    return "\n".join(lines)


def exit_status(verdicts: list[VerdictRow], metrics: list[MetricRow], strict: bool = False) -> int:
    """1 when a verdict disagrees or a metrics file is missing on one side (or, ``strict``, a metric is beyond tolerance)."""
    missing = any(r.where.startswith("(missing") for r in metrics)
    if not verdicts or not all(r.agree for r in verdicts) or missing:
        return 1
    return int(strict and not all(r.within for r in metrics))


def read_metrics(root: Path, technique: str | None = None) -> dict[str, Any]:
    """The metrics files under ``root`` (relative path -> parsed JSON), only ``technique``'s when given."""
    files = sorted({p for pattern in METRICS_GLOBS for p in root.glob(pattern)})
    chosen = {}
    for path in files:
        name = path.relative_to(root).as_posix()
        if technique is None or f"/{technique}/" in name or name.endswith(f"/{technique}.json"):
            chosen[name] = json.loads(path.read_text())
    return chosen


def _chosen(name: str, technique: str | None) -> bool:
    return technique is None or name.startswith(f"{technique}_") or name == "report"


def stage_plan(dvc_yaml: dict, technique: str | None) -> list[list[str]]:
    """The ``dvc repro`` argument lists to run once :func:`outputs_to_delete` are gone: the whole
    pipeline; or one technique's stages but the frozen ones (with their upstream data stages), then
    the report stage alone (its dependency ``reports/metrics`` would pull in every technique's stages).
    No ``--force``: it would also run the frozen stages' dependency checks; missing outputs rerun a stage."""
    if technique is None:
        return [["--no-run-cache"]]
    stages = [name for name, stage in dvc_yaml["stages"].items() if name.startswith(f"{technique}_") and not stage.get("frozen")]
    return [["--no-run-cache", *stages], ["--no-run-cache", "--single-item", "report"]]


def outputs_to_delete(dvc_lock: dict, dvc_yaml: dict, technique: str | None, stages: set[str]) -> list[str]:
    """The committed outputs (paths in ``dvc.lock``) of every stage to rerun: all but the frozen ones,
    or one technique's and the report's, among ``stages`` (the pipeline's stages under the params in
    use: a profile may drop some). Deleted, they make ``dvc repro`` run those stages again."""
    frozen = {name for name, stage in dvc_yaml["stages"].items() if stage.get("frozen")}
    return sorted(out["path"] for name, stage in dvc_lock.get("stages", {}).items()
                  if name in stages and name.split("@")[0] not in frozen and _chosen(name.split("@")[0], technique)
                  for out in stage.get("outs", []))


def copy_project(root: Path, workspace: Path) -> dict[str, str]:
    """Copy the project's files as a clean clone has them (tracked, plus untracked files git does not
    ignore; no data, DVC cache or git history) into ``workspace``, a new git repository; returns the
    environment that runs this venv's ``python`` and ``dvc`` on the copy's code."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=root, capture_output=True, check=True).stdout.decode()
    for name in (name for name in listed.split("\0") if name and (root / name).is_file()):
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, workspace / name)
    env = project_env(workspace)
    subprocess.run(["git", "init", "-q"], cwd=workspace, env=env, check=True)
    return env


def project_env(workspace: Path) -> dict[str, str]:
    """The environment that runs this venv's ``python`` and ``dvc`` on the code of the project copy in ``workspace``."""
    return os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(workspace / "src"),
        "DVC_NO_ANALYTICS": "1",
    }


def _stamps(workspace: Path) -> dict[str, int]:
    return {p.relative_to(workspace).as_posix(): p.stat().st_mtime_ns for pattern in METRICS_GLOBS for p in workspace.glob(pattern)}


def reproduce(root: Path, workspace: Path, technique: str | None, profile_path: Path | None) -> frozenset[str]:
    """Copy the project into ``workspace``, delete the outputs to recompute and run ``dvc repro`` there,
    timing every stage (:data:`PROFILE_FILE` of ``root``, the ten slowest printed); returns the metrics
    files the rerun did not rewrite (a frozen stage's)."""
    env = copy_project(root, workspace)
    bin_dir = Path(sys.executable).parent
    if profile_path is not None:
        subprocess.run([sys.executable, "-m", "recsys_challenges", "profile", "apply", str(profile_path)],
                       cwd=workspace, env=env, check=True)
    dvc_yaml = yaml.safe_load((workspace / "dvc.yaml").read_text())
    lock = workspace / "dvc.lock"
    listed = subprocess.run([str(bin_dir / "dvc"), "stage", "list", "--name-only"], cwd=workspace, env=env,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in outputs_to_delete(yaml.safe_load(lock.read_text()) if lock.exists() else {}, dvc_yaml, technique, set(listed)):
        path = workspace / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    copied = _stamps(workspace)
    times = workspace / ".stage_times.jsonl"
    env[STAGE_TIMES] = str(times)
    started, cpu_before = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
    for args in stage_plan(dvc_yaml, technique):
        print(f"verify: dvc repro {' '.join(args)}  (in {workspace})", flush=True)
        subprocess.run([str(bin_dir / "dvc"), "repro", *args], cwd=workspace, env=env, check=True)
    profile = summarise(read_lines(times), time.perf_counter() - started, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before,
                        available_cores(), "make verify" + (f" TECHNIQUE={technique}" if technique else "")
                        + (f" --profile {profile_path}" if profile_path else ""))
    write_json(root / PROFILE_FILE, profile)
    print(render_slowest(profile), flush=True)
    return frozenset(name for name, stamp in _stamps(workspace).items() if copied.get(name) == stamp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recsys_challenges verify", description=__doc__.splitlines()[0])
    parser.add_argument("--technique", choices=TECHNIQUES, help="rerun and compare this technique only (and the report)")
    parser.add_argument("--profile", type=Path,
                        help="apply this profile (experiments/*.yaml) in the workspace first; the committed outputs "
                             "compared against must come from the same profile (default: params.yaml as it is)")
    parser.add_argument("--workspace", type=Path, help="reproduce here (a new or empty folder, kept) instead of a temporary one")
    parser.add_argument("--strict", action="store_true", help="also exit 1 when a metric is beyond the tolerance")
    args = parser.parse_args(argv)
    root = Path.cwd()
    if not (root / CLAIMS_FILE).is_file():
        print(f"error: verify: {CLAIMS_FILE} not found in {root}: run it from the project root", file=sys.stderr)
        return 2
    if args.workspace is not None:
        args.workspace.mkdir(parents=True, exist_ok=True)
        if any(args.workspace.iterdir()):
            print(f"error: verify: {args.workspace} is not empty", file=sys.stderr)
            return 2
        workspace, cleanup = args.workspace.resolve(), None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="recsys-verify-")
        workspace = Path(cleanup.name)
    try:
        try:
            not_rerun = reproduce(root, workspace, args.technique, args.profile)
        except subprocess.CalledProcessError as error:
            print(f"error: verify: the rerun failed ({' '.join(map(str, error.cmd[:3]))} ...: exit {error.returncode})", file=sys.stderr)
            return 1
        verdicts = compare_verdicts(json.loads((root / CLAIMS_FILE).read_text()),
                                    json.loads((workspace / CLAIMS_FILE).read_text()), args.technique)
        metrics = compare_files(read_metrics(root, args.technique), read_metrics(workspace, args.technique), not_rerun)
    finally:
        if cleanup is not None:
            cleanup.cleanup()
    print(render(verdicts, metrics))
    return exit_status(verdicts, metrics, args.strict)
