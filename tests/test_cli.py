from __future__ import annotations

from recsys_challenges.cli import STAGES, main


def test_help_lists_every_stage(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(stage in out for stage in STAGES)


def test_unknown_stage(capsys):
    assert main(["nope"]) == 2
    assert "unknown stage 'nope'" in capsys.readouterr().err


def test_config_error_is_one_clear_line(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("data:\n  fetch:\n    retries: 2\n    timout_s: 3\n")
    assert main(["fetch", "cora_ml_bojchevski", "--params", str(params)]) == 1
    err = capsys.readouterr().err
    assert "error: fetch:" in err and "unknown key 'timout_s'" in err and "Traceback" not in err


def test_every_stage_target_resolves():
    import importlib

    for target in STAGES.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))
