"""One entry point per DVC stage: ``python -m recsys_challenges <stage> [args]``.

Stages are imported lazily so that ``fetch`` does not pay for importing torch. A known failure
(bad params, bad data) prints one clear line and exits with status 1; set ``RECSYS_DEBUG=1`` for
the full traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from recsys_challenges import workers
from recsys_challenges.config import PARAMS_FILE
from recsys_challenges.errors import ConfigError, DataError
from recsys_challenges.stage_times import STAGE_TIMES, StageClock

# stage name -> "module:function"; each function takes argv and returns an exit status.
STAGES: dict[str, str] = {
    # data: every stage's main is in data/stage.py; the work in fetch.py, prepare.py and add.py
    "fetch": "recsys_challenges.data.stage:main_fetch",
    "prepare": "recsys_challenges.data.stage:main_prepare",
    "prepare-local": "recsys_challenges.data.stage:main_prepare_local",
    "add-dataset": "recsys_challenges.data.stage:main_add_dataset",
    "profile": "recsys_challenges.profiles:main",
    "bench": "recsys_challenges.bench:main",
    # delayed: every stage's main is in delayed/stage.py; the work in build.py (conversions),
    # experiment.py (stream: loop.py fits, evaluate.py tests), sweep.py, figures.py and bench.py
    "delayed-conversions": "recsys_challenges.delayed.stage:main_conversions",
    "delayed-stream": "recsys_challenges.delayed.stage:main_stream",
    "delayed-figures": "recsys_challenges.delayed.stage:main_figures",
    "delayed-bench": "recsys_challenges.delayed.stage:main_bench",
    "delayed-sweep": "recsys_challenges.delayed.stage:main_sweep",
    "delayed-headline": "recsys_challenges.headline.delayed:main",
    # directed: every stage's main is in directed/stage.py; the work in loop.py (train: fitting),
    # evaluate.py, figures.py, search.py, control.py and bench.py
    "directed-train": "recsys_challenges.directed.stage:main_train",
    "directed-evaluate": "recsys_challenges.directed.stage:main_evaluate",
    "directed-figures": "recsys_challenges.directed.stage:main_figures",
    "directed-bench": "recsys_challenges.directed.stage:main_bench",
    "directed-search": "recsys_challenges.directed.stage:main_search",
    "directed-control": "recsys_challenges.directed.stage:main_control",
    "directed-headline": "recsys_challenges.headline.directed:main",
    "uncertainty-simulate": "recsys_challenges.data.simulate.click_log:main",
    # uncertainty: every stage's main is in uncertainty/stage.py; the work in loop.py (train),
    # evaluate.py, figures.py and bench.py
    "uncertainty-train": "recsys_challenges.uncertainty.stage:main_train",
    "uncertainty-evaluate": "recsys_challenges.uncertainty.stage:main_evaluate",
    "uncertainty-figures": "recsys_challenges.uncertainty.stage:main_figures",
    "uncertainty-bench": "recsys_challenges.uncertainty.stage:main_bench",
    "uncertainty-headline": "recsys_challenges.headline.uncertainty:main",
    "report": "recsys_challenges.report.stage:main_claims",
    "report-gallery": "recsys_challenges.report.stage:main_gallery",
    "screenshot": "recsys_challenges.report.screenshot:main",
    "verify": "recsys_challenges.verify:main",
}

# stages whose jobs run in a worker pool (workers.py) -> the modules their jobs need: the pool's
# helpers start importing them as the stage starts, while the stage imports its own
JOB_MODULES: dict[str, tuple[str, ...]] = {
    "directed-train": ("recsys_challenges.directed.loop",),
    "directed-evaluate": ("recsys_challenges.directed.evaluate",),
    "directed-control": ("recsys_challenges.directed.control",),
    "delayed-stream": ("recsys_challenges.delayed.experiment",),
    "delayed-sweep": ("recsys_challenges.delayed.sweep",),
    "uncertainty-train": ("recsys_challenges.uncertainty.loop",),
    "uncertainty-evaluate": ("recsys_challenges.uncertainty.evaluate",),
}


def _usage() -> str:
    return (
        "usage: python -m recsys_challenges <stage> [args]   (<stage> --help for its options)\n\n"
        "stages: " + ", ".join(STAGES)
    )


def _params_path(args: list[str]) -> Path:
    """The ``--params`` file a stage's arguments name (params.yaml if none)."""
    for index, arg in enumerate(args):
        if arg == "--params" and index + 1 < len(args):
            return Path(args[index + 1])
        if arg.startswith("--params="):
            return Path(arg.split("=", 1)[1])
    return PARAMS_FILE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    stage, rest = argv[0], argv[1:]
    if stage not in STAGES:
        print(f"error: unknown stage {stage!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    times_file = os.environ.get(STAGE_TIMES)
    clock = StageClock() if times_file else None
    module_name, function_name = STAGES[stage].split(":")
    status = 1  # an uncaught exception's
    try:
        if stage in JOB_MODULES and not {"-h", "--help"} & set(rest):
            workers.prestart(workers.load_workers(_params_path(rest)), JOB_MODULES[stage])
        entry = getattr(importlib.import_module(module_name), function_name)
        status = int(entry(rest) or 0)
    except (ConfigError, DataError) as error:
        if os.environ.get("RECSYS_DEBUG"):
            raise
        print(f"error: {stage}: {error}", file=sys.stderr)
    except SystemExit as exit_:  # argparse's --help and usage errors
        status = exit_.code if isinstance(exit_.code, int) else 1
        raise
    finally:
        workers.shutdown()
        if clock is not None:
            clock.append_to(Path(times_file), " ".join([stage, *rest]), status)
    return status
