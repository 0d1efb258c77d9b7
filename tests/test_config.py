"""The run configuration: nested per-stage sections, dotted keys, presets, validation, and
`sector config`, which prints the resolved values with each field's help."""
import dataclasses
import json

import pytest

from sector.cli import main
from sector.config import PRESETS, RESUME_SETTINGS, Config, describe, parse_setting, preset
from sector.config import described
from sector.tasks import TASKS


# -- presets -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_config_of_a_known_task(name):
    cfg = preset(name)
    cfg.validate()
    assert cfg.preset == name and cfg.task in TASKS


def test_the_default_preset_is_the_configs_defaults():
    assert preset("default").preset == "default"
    assert dataclasses.replace(preset("default"), preset="x") == dataclasses.replace(Config(), preset="x")
    assert PRESETS["default"] == {}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_preset_is_the_defaults_with_what_it_spells_out(name):
    resolved, defaults = preset(name).flat(), Config().flat()
    differs = {k for k in defaults if resolved[k] != defaults[k]}
    assert differs - {"preset"} <= set(PRESETS[name])
    for key, value in PRESETS[name].items():
        assert resolved[key] == value, key


def test_gpu_preset_is_the_default_preset_on_cuda():
    gpu, default = preset("gpu").flat(), preset("default").flat()
    differs = {k for k in gpu if gpu[k] != default[k]}
    assert differs == {"preset", "compute.device", "compute.decode_batch", "compute.compile", "train.batch_size"}
    assert gpu["compute.device"] == "cuda" and gpu["train.batch_size"] > default["train.batch_size"]


def test_preset_applies_dotted_settings_on_top():
    cfg = preset("test", {"rounds.steps": 3, "rounds.filters": ["split"], "model.name": "scratch"})
    assert (cfg.rounds.steps, cfg.rounds.filters, cfg.model.name) == (3, ("split",), "scratch")
    assert cfg.phase1.digits == 2  # the rest is the test preset's
    with pytest.raises(KeyError):
        preset("nope")
    with pytest.raises(ValueError, match="unknown config key 'round_steps'"):
        preset("test", {"round_steps": 3})


# -- dotted keys -------------------------------------------------------------------------------

def test_update_sets_dotted_keys_and_returns_what_changed():
    cfg = Config()
    changed = cfg.update({"rounds.sng_k": 3, "train.lr": 1e-3, "compute.device": "cpu", "rounds.filters": ["split"]})
    assert changed == {"rounds.sng_k": [5, 3], "compute.device": ["auto", "cpu"],
                       "rounds.filters": [("commutativity", "split", "pieces"), ("split",)]}  # train.lr was 1e-3 already
    assert (cfg.rounds.sng_k, cfg.compute.device, cfg.rounds.filters) == (3, "cpu", ("split",))


@pytest.mark.parametrize("key", ["nope", "rounds.nope", "rounds", "nope.sng_k", "rounds.sng_k.x", "sng_k"])
def test_update_names_an_unknown_key(key):
    cfg = Config()
    with pytest.raises(ValueError, match=f"unknown config key '{key}'"):
        cfg.update({key: 1})
    assert cfg == Config()


def test_flat_names_every_setting_by_its_dotted_key():
    flat = Config().flat()
    assert flat["phase1.digits"] == 6 and flat["compute.train_precision"] == "fp32" and flat["seed"] == 0
    assert len(flat) == len(list(described(Config())))
    assert not any(key.startswith("mixture.families.") for key in flat)  # a setting whose value is a dict
    assert flat["mixture.families"]["uniform"] == 0.4 and len(flat["mixture.families"]) == 6


def test_set_overrides_parse_against_the_fields_type():
    cfg = Config()
    assert parse_setting(cfg, "rounds.max_steps=2000") == ("rounds.max_steps", 2000)
    assert parse_setting(cfg, "train.lr=3e-3") == ("train.lr", 3e-3)
    assert parse_setting(cfg, "rounds.agreement=1") == ("rounds.agreement", 1.0)
    assert isinstance(parse_setting(cfg, "rounds.agreement=1")[1], float)
    assert parse_setting(cfg, "rounds.filters=[]") == ("rounds.filters", ())
    assert parse_setting(cfg, 'rounds.filters=["split"]') == ("rounds.filters", ("split",))
    assert parse_setting(cfg, "rounds.labeller=fast") == ("rounds.labeller", "fast")
    assert parse_setting(cfg, "compute.train_precision=fp32") == ("compute.train_precision", "fp32")
    assert parse_setting(cfg, "compute.compile=false") == ("compute.compile", False)
    assert parse_setting(cfg, "model.name=tiny") == ("model.name", "tiny")
    # a float field, whatever its default
    assert parse_setting(cfg, "rounds.time_budget_min=0.5") == ("rounds.time_budget_min", 0.5)


@pytest.mark.parametrize("text", ["rounds.max_steps=2.5", "rounds.max_steps=true", "rounds.labeller=3",
                                  "rounds.filters=x", "rounds.filters=[3]", "compute.compile=1", "train.lr=fast"])
def test_set_refuses_a_value_of_the_wrong_type(text):
    with pytest.raises(ValueError, match=f"--set {text.split('=')[0]}: expected"):
        parse_setting(Config(), text)


@pytest.mark.parametrize("text", ["round_max_steps=2000", "nope=1", "rounds=1", "train.lr", "=1", "rounds.nope=1"])
def test_set_refuses_what_is_not_a_config_key(text):
    with pytest.raises(ValueError, match="expected KEY=VALUE with KEY a config key"):
        parse_setting(Config(), text)


# -- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize("settings, message", [
    ({"rounds.sng_k": 0}, "rounds.sng_k must be >= 1, got 0"),
    ({"seed": -1}, "seed must be >= 0, got -1"),
    ({"phase1.digits": 1, "phase1.curriculum_start": 1}, "phase1.digits must be >= 2, got 1"),
    ({"mixture.families": {"uniform": 1.0, "borrow_chain": 1.0}}, "mixture.families: addition has no family borrow_chain"),
    ({"rounds.agreement": -0.1}, "rounds.agreement must be >= 0, got -0.1"),
    ({"compute.device": "tpu"}, "unknown compute.device 'tpu' (auto, cpu, cuda)"),
    ({"compute.train_precision": "fp16"}, "unknown compute.train_precision 'fp16'"),
    ({"task": "division"}, "unknown task 'division'"),
    ({"rounds.labeller": "nope"}, "unknown rounds.labeller 'nope'"),
    ({"rounds.filters": ("nope",)}, "unknown filter in rounds.filters"),
    ({"phase1.curriculum_start": 7}, "phase1.curriculum_start must be <= phase1.digits"),
    ({"rounds.steps": 300, "rounds.max_steps": 200}, "rounds.max_steps must be >= rounds.steps"),
    ({"train.lr": 0.0}, "train.lr and anneal.lr must be > 0"),
    ({"anneal.lr": 0.0}, "train.lr and anneal.lr must be > 0"),
])
def test_validate_names_the_value_out_of_its_range(settings, message):
    cfg = Config()
    cfg.update(settings)
    with pytest.raises(ValueError) as err:
        cfg.validate()
    assert str(err.value).startswith(message)


def test_a_resume_may_change_the_limits_and_the_compute_only():
    assert set(RESUME_SETTINGS) == {"rounds.max_rounds", "rounds.time_budget_min", "train.batch_size",
                                    *(k for k in Config().flat() if k.startswith("compute."))}


# -- to_dict and from_dict ---------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_config_round_trips_through_its_dict_and_json(name):
    cfg = preset(name, {"rounds.filters": ("split",), "seed": 3})
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg  # as config.json holds it
    assert isinstance(Config.from_dict(cfg.to_dict()).rounds.filters, tuple)


@pytest.mark.parametrize("damage, key", [
    (lambda d: d.update(nope=1), "nope"),
    (lambda d: d["rounds"].update(nope=1), "rounds.nope"),
    (lambda d: d.update(round_steps=200), "round_steps"),  # a run made before the sections
    (lambda d: d["train"].update(precision="fp32"), "train.precision"),  # moved to compute.train_precision
])
def test_from_dict_names_an_unknown_key(damage, key):
    d = preset("test").to_dict()
    damage(d)
    with pytest.raises(ValueError, match=f"unknown config key '{key}'"):
        Config.from_dict(d)


def test_from_dict_takes_a_partial_dict_over_the_defaults():
    assert Config.from_dict({"rounds": {"sng_k": 3}}) == preset("default", {"rounds.sng_k": 3})


# -- `sector config` ---------------------------------------------------------------------------

def config_lines(capsys, *argv) -> dict[str, tuple[str, str]]:
    """`sector config ARGV` as {key: (value as printed, help)}."""
    assert main(["config", *argv]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = {}
    for line in captured.out.splitlines():
        setting, sep, help_ = line.partition("  # ")
        key, eq, value = setting.partition(" = ")
        assert sep and eq, line
        lines[key] = (value.strip(), help_)
    return lines


@pytest.mark.parametrize("name", ["default", "smoke", "test"])
def test_config_prints_every_key_with_its_help_and_the_presets_value(capsys, name):
    lines = config_lines(capsys, "--preset", name)
    cfg = preset(name)
    keys = [key for key, _, _ in described(cfg)]
    assert list(lines) == keys  # every setting, in declaration order
    for key, f, value in described(cfg):
        printed, help_ = lines[key]
        assert json.loads(printed) == (list(value) if isinstance(value, tuple) else value), key
        assert help_ == f.metadata["help"] and help_, key


def test_config_shows_the_smoke_presets_supervised_lengths(capsys):
    lines = config_lines(capsys, "--preset", "smoke")
    assert lines["phase1.digits"][0] == "3" and lines["preset"][0] == '"smoke"'
    assert lines["phase1.digits"][1].startswith("supervised lengths 1..digits")


def test_config_applies_the_flags_and_settings_as_run_would(capsys):
    lines = config_lines(capsys, "--preset", "test", "--k", "3", "--seed", "4", "--max-rounds", "7",
                         "--time-budget", "2.5", "--model", "scratch", "--device", "cpu",
                         "--set", 'rounds.filters=["split"]', "--set", "train.lr=0.002")
    values = {k: json.loads(v) for k, (v, _) in lines.items()}
    assert {k: values[k] for k in ("rounds.sng_k", "seed", "rounds.max_rounds", "rounds.time_budget_min",
                                   "model.name", "compute.device", "rounds.filters", "train.lr")} == {
        "rounds.sng_k": 3, "seed": 4, "rounds.max_rounds": 7, "rounds.time_budget_min": 2.5,
        "model.name": "scratch", "compute.device": "cpu", "rounds.filters": ["split"], "train.lr": 0.002}
    expected = preset("test", {"rounds.sng_k": 3, "seed": 4, "rounds.max_rounds": 7, "rounds.time_budget_min": 2.5,
                               "model.name": "scratch", "compute.device": "cpu", "rounds.filters": ("split",),
                               "train.lr": 0.002})
    assert Config.from_dict(dict_of(values)) == expected  # what it prints is the config a run would get


def dict_of(flat: dict) -> dict:
    nested: dict = {}
    for key, value in flat.items():
        *path, name = key.split(".")
        node = nested
        for part in path:
            node = node.setdefault(part, {})
        node[name] = value
    return nested


def test_config_of_a_task_starts_from_its_preset(capsys):
    lines = config_lines(capsys, "--task", "subtraction")
    assert (lines["preset"][0], lines["task"][0], lines["rounds.labeller"][0]) == ('"subtraction"', '"subtraction"',
                                                                                  '"chain"')


@pytest.mark.parametrize("setting, says", [("rounds.nope=1", "a config key (see `sector config`)"),
                                           ("rounds.sng_k=three", "--set rounds.sng_k: expected int"),
                                           ("rounds.sng_k=0", "rounds.sng_k must be >= 1, got 0")])
def test_config_refuses_a_bad_setting_in_one_line(capsys, setting, says):
    assert main(["config", "--set", setting]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("sector: error:") and says in captured.err


def test_describe_aligns_one_line_per_setting():
    text = describe(preset("test"))
    lines = text.splitlines()
    assert len(lines) == len(Config().flat())
    columns = [line.index("  # ") for line in lines]
    column = min(columns)  # the help in one column; a value too long for it pushes only its own line's help
    assert all(c == column or len(line[:c].rstrip()) > column - 2 for line, c in zip(lines, columns))
    assert columns.count(column) > len(lines) - 3
