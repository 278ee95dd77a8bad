"""Run: validation of every field, all-or-nothing changes, batches, divergence, determinism."""

import copy
import json
import math

import numpy as np
import pytest

from engine import schema
from engine.network import Network
from engine.run import Limits, Run, default_config
from engine.trainer import Trainer, default_options

NAN, INF = float("nan"), float("inf")


def config(**sections: dict) -> dict:
    """The default configuration with some keys of each section replaced."""
    result = default_config()
    for section, values in sections.items():
        result[section].update(values)
    return result


def snapshot(run: Run) -> tuple:
    """Everything a failed change must leave alone."""
    return (
        json.dumps(run.config, sort_keys=True),
        run.network.params.copy(),
        run.iteration,
        run.epoch,
        run.focus,
        run.data.train_points.copy(),
        run.data.train_targets.copy(),
    )


def assert_same(before: tuple, after: tuple) -> None:
    assert before[0] == after[0]
    for old, new in zip(before[1:], after[1:], strict=True):
        assert np.array_equal(old, new)


# --------------------------------------------------------------------------- config


def test_default_config_is_normalised_and_json_able() -> None:
    run = Run({})
    assert run.config == default_config()
    assert json.loads(json.dumps(run.config)) == run.config
    assert run.config["network"]["loss"] == "bce"
    three = {"network": {"layers": [2, 3], "output": "softmax"}, "data": {"dataset": "three_gauss"}}
    assert Run(three).config["network"]["loss"] == "ce"
    assert len(run.data.train_points) == 100 and run.data.kind == "classification"


def test_the_public_api_comes_from_engine_run_and_engine() -> None:
    # The configuration lives in engine.config; Run's callers keep importing from engine.run.
    import engine
    import engine.config
    import engine.run

    for name in ("Run", "Limits", "TrainStatus", "default_config"):
        assert getattr(engine, name) is getattr(engine.run, name)
    assert engine.run.Limits is engine.config.Limits
    assert engine.config.validate_config({}, engine.Limits()) == engine.default_config()


# The limits a run is held to, as the schema reads them: a test of "over the limit" asks one more.
LIMITS = Limits()
HIDDEN, NEURONS, POINTS = LIMITS.max_hidden_layers, LIMITS.max_neurons, LIMITS.max_points
BAD_FIELDS = [
    ({"extra": {}}, "config.extra: unknown key"),
    ({"network": []}, "network: must be an object"),
    ({"network": {"layer": [2, 1]}}, "network.layer: unknown key"),
    ({"network": {"layers": [2, *[4] * (HIDDEN + 1), 1]}}, f"layers: .*at most {HIDDEN} hidden"),
    ({"network": {"layers": [2]}}, f"network.layers: must be a list of 2 to {HIDDEN + 2}"),
    ({"network": {"layers": "2,1"}}, "network.layers: must be a list"),
    ({"network": {"layers": [2, NEURONS + 1, 1]}}, rf"network.layers\[1\]: .*\[1, {NEURONS}\]"),
    ({"network": {"layers": [2, 0, 1]}}, r"network.layers\[1\]: must be an integer"),
    ({"network": {"layers": [2, True, 1]}}, r"network.layers\[1\]: must be an integer"),
    ({"network": {"layers": [2, 2.0, 1]}}, r"network.layers\[1\]: must be an integer"),
    ({"network": {"layers": [3, 4, 1]}}, r"network.layers\[0\]: must equal the number of feat"),
    ({"network": {"layers": [2, 4, 3]}}, r"network.layers\[2\]: the two-class set circle takes 1"),
    (
        {"network": {"layers": [2, 4, 2]}},
        "network.output: on the two-class set circle, 2 outputs go with softmax",
    ),
    (
        {"network": {"layers": [2, 4, 2]}, "data": {"dataset": "three_gauss"}},
        r"network.layers\[2\]: must equal the number of outputs of three_gauss \(3\), got 2",
    ),
    ({"network": {"activation": "gelu"}}, "network.activation: must be one of"),
    ({"network": {"output": "softmax"}}, "network.output: .* got softmax with 1"),
    ({"network": {"loss": "ce"}}, "network.loss: ce needs output softmax"),
    ({"network": {"init": "orthogonal"}}, "network.init: must be one of"),
    ({"network": {"init_scale": NAN}}, "network.init_scale: must be a finite number"),
    ({"network": {"seed": -1}}, "network.seed: must be an integer"),
    ({"network": {"bias": 1}}, "network.bias: must be true or false"),
    ({"network": {"weights": [[[1.0]]]}}, "network.weights: expected a list of 3 layers"),
    ({"training": {"lr": 0}}, r"training.lr: must be a finite number in \(0, 10\], got 0"),
    ({"training": {"lr": -1}}, r"training.lr: must be a finite number in \(0, 10\], got -1"),
    ({"training": {"lr": 10.5}}, "training.lr: must be a finite number"),
    ({"training": {"lr": NAN}}, "training.lr: must be a finite number"),
    ({"training": {"lr": INF}}, "training.lr: must be a finite number"),
    ({"training": {"lr": True}}, "training.lr: must be a finite number"),
    ({"training": {"lr": "0.1"}}, "training.lr: must be a finite number"),
    ({"training": {"speed": 3}}, "training.speed: unknown key"),
    ({"training": {"optimizer": "lbfgs"}}, "training.optimizer: must be one of sgd, momentum"),
    ({"training": {"momentum": 1}}, r"training.momentum: must be a finite number in \[0, 1\)"),
    ({"training": {"momentum": -0.1}}, "training.momentum: must be"),
    ({"training": {"alpha": 1.0}}, "training.alpha: must be"),
    ({"training": {"beta1": -INF}}, "training.beta1: must be"),
    ({"training": {"beta2": 1}}, "training.beta2: must be"),
    ({"training": {"eps": 0}}, r"training.eps: must be a finite number in \(0, 1\]"),
    ({"training": {"l1": 1.5}}, r"training.l1: must be a finite number in \[0, 1\]"),
    ({"training": {"l2": -0.1}}, "training.l2: must be"),
    ({"training": {"dropout": 0.95}}, r"training.dropout: must be a finite number in \[0, 0.9\]"),
    ({"training": {"batch_size": 0}}, r"training.batch_size: must be an integer in \[1, 100\]"),
    ({"training": {"batch_size": 101}}, r"training.batch_size: must be an integer in \[1, 100\]"),
    ({"training": {"batch_size": 2.0}}, "training.batch_size: must be an integer"),
    ({"training": {"batch_size": True}}, "training.batch_size: must be an integer"),
    ({"training": {"frozen": 0}}, "training.frozen: must be a list"),
    ({"training": {"frozen": [3]}}, r"training.frozen\[0\]: must be an integer in \[0, 2\]"),
    ({"training": {"frozen": [False]}}, r"training.frozen\[0\]: must be an integer"),
    ({"training": {"frozen": [1, 1]}}, "training.frozen: each at most once"),
    ({"data": {"dataset": "plane"}}, "network.loss: the regression set plane needs mse, got bce"),
    ({"data": {"dataset": "iris"}}, "data.dataset: must be one of circle, xor"),
    ({"data": {"n_points": 0}}, rf"data.n_points: must be an integer in \[1, {POINTS}\]"),
    ({"data": {"n_points": POINTS + 1}}, rf"data.n_points: must be an integer in \[1, {POINTS}\]"),
    ({"data": {"noise": 51}}, r"data.noise: must be a finite number in \[0, 50\]"),
    ({"data": {"noise": NAN}}, "data.noise: must be a finite number"),
    ({"data": {"train_ratio": 0.01}}, r"data.train_ratio: must be a finite number in \[0.05, 1\]"),
    ({"data": {"train_ratio": 1.5}}, "data.train_ratio: must be"),
    ({"data": {"features": []}}, "data.features: must be a non-empty list"),
    ({"data": {"features": "x1"}}, "data.features: must be a non-empty list"),
    ({"data": {"features": ["x1", "x3"]}}, r"data.features\[1\]: must be one of x1, x2, x1sq"),
    ({"data": {"features": ["x1", "x1"]}}, "data.features: each at most once"),
    ({"data": {"seed": 1.5}}, "data.seed: must be an integer"),
    ({"data": {"points": [[0, 0, 3]]}}, r"data.points\[0\]: the target must be a class index"),
    ({"data": {"points": [[9, 0, 1]]}}, r"data.points\[0\]: x1 and x2 must lie in \[-6, 6\]"),
    ({"data": {"points": []}}, "data.points: must be a non-empty list"),
]


@pytest.mark.parametrize(("change", "message"), BAD_FIELDS)
def test_every_invalid_field_is_named(change: dict, message: str) -> None:
    bad = default_config()
    for section, values in change.items():
        if isinstance(values, dict) and isinstance(bad.get(section), dict):
            bad[section].update(values)
        else:
            bad[section] = values
    with pytest.raises(ValueError, match=message):
        Run(bad)


def test_training_options_come_from_the_schema() -> None:
    defaults = default_config()["training"]
    trainer = Trainer(Network.from_spec({"layers": [2, 1]}))
    assert trainer.options == {**default_options(), "frozen": []}
    assert {key: trainer.options[key] for key in defaults if key != "batch_size"} == {
        key: value for key, value in defaults.items() if key != "batch_size"
    }
    # The run and a bare Trainer refuse the same value with the same words: one range, one check.
    refused = r"training\.l2: must be a finite number in \[0, 1\], got 5"
    with pytest.raises(ValueError, match=refused):
        Run(config(training={"l2": 5}))
    with pytest.raises(ValueError, match=refused):
        Trainer(Network.from_spec({"layers": [2, 1]}), l2=5)
    assert schema.field("training.l2").range.high == 1.0


def test_config_must_be_an_object() -> None:
    with pytest.raises(ValueError, match="config: must be an object"):
        Run([])  # type: ignore[arg-type]


def test_limits_come_from_the_caller() -> None:
    limits = Limits(max_hidden_layers=1, max_neurons=4, max_points=50)
    small = {"n_points": 40, "train_ratio": 0.5}
    with pytest.raises(ValueError, match="at most 1 hidden layers"):
        Run(config(data=small), limits)
    with pytest.raises(ValueError, match=r"network.layers\[1\]: must be an integer in \[1, 4\]"):
        Run(config(network={"layers": [2, 5, 1]}, data=small), limits)
    assert Run(config(network={"layers": [2, 4, 1]}, data=small), limits).n_train == 20
    with pytest.raises(ValueError, match=r"data.n_points: must be an integer in \[1, 50\]"):
        Run(config(network={"layers": [2, 4, 1]}), limits)
    with pytest.raises(ValueError, match=r"data\.points: at most 50 points"):
        Run(
            config(network={"layers": [2, 4, 1]}, data={**small, "points": [[0, 0, 1]] * 51}),
            limits,
        )


def test_features_set_the_input_width_and_user_points_the_output_width() -> None:
    run = Run(config(network={"layers": [3, 4, 1]}, data={"features": ["x1", "x2", "x1x2"]}))
    assert run.network.layers[0] == 3
    points = [[0.05, 0.1, 0.01, 0.99]]
    run = Run(
        config(
            network={"layers": [2, 2, 2], "output": "sigmoid", "loss": "mse"},
            data={"dataset": "plane", "points": points, "train_ratio": 1.0},
            training={"batch_size": 1},
        )
    )
    assert run.data.train_targets.tolist() == [[0.01, 0.99]] and run.metrics()["test_loss"] is None


# ------------------------------------------------------------------ all-or-nothing


def test_set_applies_options_and_keeps_weights() -> None:
    run = Run({})
    run.train(3)
    params = run.network.params.copy()
    run.set({"lr": 0.5, "optimizer": "adam", "batch_size": 100, "frozen": [0]})
    assert np.array_equal(run.network.params, params)
    assert run.config["training"]["lr"] == 0.5 and run.trainer.options["optimizer"] == "adam"
    run.train(1)
    assert np.array_equal(run.network.weights[0], params[:8].reshape(2, 4))
    assert run.iteration == 4


@pytest.mark.parametrize(
    ("options", "message"),
    [(values, message) for change, message in BAD_FIELDS for section, values in change.items()
     if section == "training" and isinstance(values, dict)]
    + [({"lr": 0.5, "dropout": 2}, "training.dropout"), ([], "training: must be an object")],
)  # fmt: skip
def test_bad_set_changes_nothing(options: object, message: str) -> None:
    run, twin = Run({}), Run({})
    run.train(5)
    twin.train(5)
    before = snapshot(run)
    with pytest.raises(ValueError, match=message):
        run.set(options)  # type: ignore[arg-type]
    assert_same(before, snapshot(run))
    run.train(5)
    twin.train(5)
    assert np.array_equal(run.network.params, twin.network.params)


def test_edit_sets_one_weight_or_bias() -> None:
    run = Run({})
    run.edit("W", 1, 3, 0, 2.5)
    run.edit("b", 2, None, 0, -1.25)
    assert run.network.weights[1][3, 0] == 2.5 and run.network.biases[2][0] == -1.25
    assert run.network.to_spec()["weights"][1][3][0] == 2.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("w", 0, 0, 0, 1.0), "param: must be one of W, b"),
        (("W", 3, 0, 0, 1.0), r"layer: must be an integer in \[0, 2\]"),
        (("W", -1, 0, 0, 1.0), "layer: must be an integer"),
        (("W", 0, 2, 0, 1.0), r"i: must be an integer in \[0, 1\]"),
        (("W", 0, None, 0, 1.0), "i: must be an integer"),
        (("W", 0, 0, 4, 1.0), r"j: must be an integer in \[0, 3\]"),
        (("b", 2, None, 1, 1.0), r"j: must be an integer in \[0, 0\]"),
        (("W", 0, 0, 0, 101.0), r"value: must be a finite number in \[-100, 100\]"),
        (("W", 0, 0, 0, NAN), "value: must be a finite number"),
        (("W", 0, 0, 0, -INF), "value: must be a finite number"),
        (("W", 0, 0, 0, True), "value: must be a finite number"),
        (("W", 0, 0, 0, "1"), "value: must be a finite number"),
    ],
)
def test_bad_edit_changes_nothing(args: tuple, message: str) -> None:
    run = Run({})
    run.train(2)
    before = snapshot(run)
    with pytest.raises(ValueError, match=message):
        run.edit(*args)
    assert_same(before, snapshot(run))


def test_no_bias_to_edit_when_bias_is_off() -> None:
    run = Run(config(network={"bias": False}))
    with pytest.raises(ValueError, match="param: this network has no biases"):
        run.edit("b", 0, None, 0, 1.0)


def test_set_points_replaces_the_data_and_keeps_the_weights() -> None:
    run = Run({})
    run.train(3)
    params = run.network.params.copy()
    run.set_focus(60)
    points = [[1, 1, 1], [-1, 2, 0], [3, -3, 1], [0.5, 0.5, 0]]
    run.set_points(points)
    assert np.array_equal(run.network.params, params)
    assert run.config["data"]["points"] == [[float(v) for v in row] for row in points]
    assert sorted(run.data.train_rows() + run.data.test_rows()) == sorted(
        [[float(v) for v in row] for row in points]
    )
    assert run.focus == 0 and len(run.data.train_points) == 2
    status = run.train(3)  # batch size 10 > 2 training samples: each batch is all of them
    assert not status.diverged and run.epoch == 3  # one pass per iteration


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([], "points: must be a non-empty list"),
        ([[0, 0, 1], [0, 0, NAN]], r"points\[1\]: every entry must be a finite number"),
        ([[0, 0, 1]] * (POINTS + 1), f"points: at most {POINTS} points"),
        ([[0, 0, 0.5]], r"points\[0\]: the target must be a class index \(0, 1\)"),
        ([[0, 7, 1]], r"points\[0\]: x1 and x2 must lie in \[-6, 6\]"),
        ([[0, 0, 1, 1]], r"points\[0\]: must be \[x1, x2, target\]"),
        ("0,0,1", "points: must be a non-empty list"),
    ],
)
def test_bad_points_change_nothing(points: object, message: str) -> None:
    run = Run({})
    run.train(2)
    before = snapshot(run)
    with pytest.raises(ValueError, match=message):
        run.set_points(points)
    assert_same(before, snapshot(run))


def test_regression_points_must_match_the_network_outputs() -> None:
    run = Run(
        config(
            network={"layers": [2, 4, 1], "output": "linear", "loss": "mse"},
            data={"dataset": "plane"},
        )
    )
    before = snapshot(run)
    with pytest.raises(ValueError, match="points: rows carry 2 targets, the network has 1"):
        run.set_points([[0, 0, 0.5, 0.5]])
    assert_same(before, snapshot(run))


def test_focus_is_a_training_index() -> None:
    run = Run({})
    run.set_focus(99)
    with pytest.raises(ValueError, match=r"sample: must be an integer in \[0, 99\]"):
        run.set_focus(100)
    assert run.focus == 99


# ---------------------------------------------------------------- batches and epochs


def test_batches_cover_the_shuffled_training_set_once_per_epoch() -> None:
    run = Run(config(training={"batch_size": 30}))
    seen, sizes = [], []
    for _ in range(4):
        phase = run.next_phase()
        sizes.append(phase["batch_size"])
        seen.extend(run._order[run._cursor : run._cursor + phase["batch_size"]].tolist())
        while phase["phase"] != "update":
            phase = run.next_phase()
    assert sizes == [30, 30, 30, 10]
    assert sorted(seen) == list(range(100)) and seen != list(range(100))
    assert (run.iteration, run.epoch) == (4, 1)
    run.train(4)
    assert (run.iteration, run.epoch) == (8, 2)


def test_phases_of_an_iteration_equal_train_one() -> None:
    options = {"dropout": 0.3, "optimizer": "momentum", "batch_size": 7}
    stepped, trained = Run(config(training=options)), Run(config(training=options))
    for _ in range(3):
        phases = [stepped.next_phase()]
        while phases[-1]["phase"] != "update":
            phases.append(stepped.next_phase())
        trained.train(1)
        assert [p["phase"] for p in phases].count("forward") == 3
        assert np.array_equal(stepped.network.params, trained.network.params)
    assert stepped.iteration == trained.iteration == 3


def test_train_completes_a_phase_stepped_iteration_first() -> None:
    stepped, trained = Run({}), Run({})
    stepped.next_phase()
    stepped.next_phase()
    stepped.train(2)
    trained.train(2)
    assert np.array_equal(stepped.network.params, trained.network.params)
    assert stepped.iteration == 2


def stepped_iteration(run: Run) -> list[dict]:
    phases = [run.next_phase()]
    while phases[-1]["phase"] != "update":
        phases.append(run.next_phase())
    return phases


def assert_own_values(phases: list[dict], net: Network, x: np.ndarray, y: np.ndarray) -> None:
    """The phases' focus values are the sample's own forward and backward pass as a batch of
    one, with the weights the batch saw (`net`, a copy taken before the update)."""
    trace = net.forward_trace(x[None, :])
    own = net.backward(trace, y[None, :])
    loss = net.loss_fn.per_sample(trace.Z[-1], trace.A[-1], y[None, :])[0]
    for phase in phases:
        focus, layer = phase.get("focus"), phase.get("layer")
        if phase["phase"] == "forward":
            assert np.allclose(focus["Z"], trace.Z[layer][0], rtol=1e-12, atol=1e-15)
            assert np.allclose(focus["A"], trace.A[layer][0], rtol=1e-12, atol=1e-15)
        elif phase["phase"] == "loss":
            assert focus["loss"] == pytest.approx(loss, rel=1e-12)
        elif phase["phase"] == "backward":
            assert np.allclose(focus["dZ"], own.dZ[layer][0], rtol=1e-12, atol=1e-15)
            assert np.allclose(focus["dW"], own.dW[layer], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("options", [{}, {"dropout": 0.3, "optimizer": "adam"}])
def test_the_chosen_sample_is_followed_whether_or_not_it_is_in_the_batch(options: dict) -> None:
    run, twin = Run(config(training=options)), Run(config(training=options))
    for in_batch in (False, True, False):
        batch = run.next_batch()
        outside = next(s for s in range(run.n_train) if s not in batch)
        sample = int(batch[3]) if in_batch else outside
        run.set_focus(sample)
        before = run.network.copy()
        phases = stepped_iteration(run)
        twin.train(1)
        assert np.array_equal(run.network.params, twin.network.params)  # the batch's update
        assert all(p["focus_sample"] == sample for p in phases)
        assert all(p["focus_in_batch"] is in_batch for p in phases)
        x, y = run._X_train[sample], run.data.train_targets[sample]
        # In the batch, with dropout, a sample carries its mask row; outside it, none is drawn.
        if not options.get("dropout") or not in_batch:
            assert_own_values(phases, before, x, y)
    assert run.trainer.rng.random() == twin.trainer.rng.random()  # same dropout draws used


def test_an_in_batch_sample_follows_its_row_of_the_batch() -> None:
    run = Run(config(training={"batch_size": 100, "dropout": 0.5}))
    run.set_focus(42)
    phase = run.next_phase()
    assert phase["focus_sample"] == 42 and phase["focus_in_batch"]
    position = int(np.flatnonzero(run._order == 42)[0])
    assert np.array_equal(phase["focus"]["Z"], phase["Z"][position])
    assert np.array_equal(phase["focus"]["A"], phase["A"][position])  # its dropout mask too
    assert phase["iteration"] == 1


# ----------------------------------------------------------------------- divergence


def diverging_run() -> Run:
    return Run(
        config(
            network={
                "layers": [2, 8, 1],
                "output": "linear",
                "loss": "mse",
                "init": "normal",
                "init_scale": 3,
            },
            training={"lr": 10, "batch_size": 100},
            data={"dataset": "plane"},
        )
    )


def test_divergence_stops_training_and_keeps_the_last_good_parameters() -> None:
    run = diverging_run()
    status = run.train(100)
    assert status.diverged and status.iterations_run < 100
    assert "diverged" in status.message
    assert np.all(np.isfinite(run.network.params)) and run.iteration == status.iterations_run
    replay = diverging_run()
    replay.train(status.iterations_run)
    assert np.array_equal(run.network.params, replay.network.params)
    again = run.train(1)  # the same bad step again: still refused, nothing moves
    assert again.diverged and again.iterations_run == 0
    assert np.array_equal(run.network.params, replay.network.params)


def test_train_checks_its_count() -> None:
    with pytest.raises(ValueError, match="iterations: must be an integer"):
        Run({}).train(0)


# -------------------------------------------------------------- reset, clone, determinism


def test_same_config_gives_bit_for_bit_the_same_run() -> None:
    options = {"dropout": 0.2, "optimizer": "adam", "l2": 0.01}
    first, second = Run(config(training=options)), Run(config(training=options))
    first.train(40)
    second.train(40)
    assert np.array_equal(first.network.params, second.network.params)
    assert first.metrics() == second.metrics()
    other = Run(config(training=options, network={"seed": 2}))
    other.train(40)
    assert not np.array_equal(first.network.params, other.network.params)


def test_reset_restarts_the_run_and_a_seed_draws_new_weights() -> None:
    run = Run({})
    start = run.network.params.copy()
    run.train(15)
    run.reset()
    assert np.array_equal(run.network.params, start) and (run.iteration, run.epoch) == (0, 0)
    run.reset(seed=5)
    assert run.config["network"]["seed"] == 5
    assert np.array_equal(run.network.params, Run(config(network={"seed": 5})).network.params)
    with pytest.raises(ValueError, match="seed: must be an integer"):
        run.reset(seed=-3)
    assert run.config["network"]["seed"] == 5


def test_reset_without_seed_restores_given_weights() -> None:
    spec = Network.from_spec({"layers": [2, 3, 1], "seed": 9}).to_spec()
    network = {key: spec[key] for key in ("layers", "weights", "biases")}
    run = Run(config(network=network))
    run.train(5)
    run.reset()
    assert run.network.to_spec()["weights"] == spec["weights"]
    run.reset(seed=4)
    assert "weights" not in run.config["network"]


def test_clone_shares_weights_and_data_but_not_state() -> None:
    base = Run({})
    base.train(7)
    twin = base.clone(training={"optimizer": "adam", "lr": 0.01})
    assert np.array_equal(twin.network.params, base.network.params)
    assert twin.data is base.data and twin.iteration == 7
    assert twin.config["training"]["optimizer"] == "adam"
    assert base.config["training"]["optimizer"] == "sgd"
    twin.train(5)
    assert not np.array_equal(twin.network.params, base.network.params)
    same = base.clone()
    base.train(5)
    same.train(5)
    assert np.array_equal(same.network.params, base.network.params)


def test_bad_clone_options_change_nothing() -> None:
    base = Run({})
    before = snapshot(base)
    with pytest.raises(ValueError, match=r"training\.lr: must be a finite number"):
        base.clone(training={"lr": -1})
    assert_same(before, snapshot(base))


# ------------------------------------------------------------------- what is shown


def test_metrics_before_and_after_training() -> None:
    run = Run(config(network={"activation": "relu"}))
    first = run.metrics()
    assert first["iteration"] == 0 and first["layers"][0]["grad_norm"] is None
    assert first["layers"][0]["saturated_fraction"] is None
    assert first["layers"][2]["dead_fraction"] is None  # the sigmoid output cannot die
    run.train(5)
    metrics = run.metrics()
    assert json.loads(json.dumps(metrics)) == metrics
    X, Y = run.data.train_points, run.data.train_targets
    assert metrics["train_loss"] == run.network.loss(X, Y)
    grads = run.trainer.last_gradients
    for layer, grad in zip(metrics["layers"], grads, strict=True):
        assert layer["grad_norm"] == pytest.approx(np.linalg.norm(grad["W"]), rel=1e-15)
        assert 0 <= layer["dead_fraction"] <= 1 if layer["dead_fraction"] is not None else True
    predicted = run.network.forward(X)[:, 0] > 0.5
    assert metrics["train_accuracy"] == np.mean(predicted == (Y[:, 0] == 1))


@pytest.mark.parametrize("dataset", ["plane", "multi_gauss"])
def test_regression_data_needs_mse(dataset: str) -> None:
    # Targets in [-1, 1] under bce give a loss with no floor (it fell to -1419 with lr 1).
    bce = {"output": "sigmoid", "loss": "bce"}
    message = f"network.loss: the regression set {dataset} needs mse, got bce"
    with pytest.raises(ValueError, match=message):
        Run(config(network=bce, data={"dataset": dataset}))
    points = {"dataset": dataset, "points": [[0, 0, -0.5], [1, 1, 0.5]]}
    with pytest.raises(ValueError, match=message):
        Run(config(network=bce, data=points))
    run = Run({"network": {"output": "sigmoid"}, "data": {"dataset": dataset}})
    assert run.config["network"]["loss"] == "mse"  # an omitted loss fits the data


def test_bce_points_are_hard_class_labels() -> None:
    # bce only meets classification sets, whose rows carry a class index: no soft targets.
    with pytest.raises(ValueError, match=r"data\.points\[0\]: the target must be a class index"):
        Run(config(data={"points": [[0, 0, 0.5]]}))
    assert Run({"data": {"points": [[0, 0, 0], [1, 1, 1]]}}).config["network"]["loss"] == "bce"


def test_metrics_are_measured_without_dropout() -> None:
    # Half the hidden units masked would change every loss; the figures must be the plain ones,
    # and reading them must not draw from the dropout generator (the run stays reproducible).
    options = {"dropout": 0.5, "lr": 0.1}
    run, twin = Run(config(training=options)), Run(config(training=options))
    run.train(20)
    twin.train(20)
    metrics = run.metrics()
    data, net = run.data, run.network
    assert metrics["train_loss"] == net.loss(data.train_points, data.train_targets)
    assert metrics["test_loss"] == net.loss(data.test_points, data.test_targets)
    assert run.metrics() == metrics
    run.train(20)
    twin.train(20)
    assert np.array_equal(run.network.params, twin.network.params)


def test_regression_has_no_accuracy() -> None:
    run = Run(config(network={"output": "linear", "loss": "mse"}, data={"dataset": "multi_gauss"}))
    metrics = run.metrics()
    assert metrics["train_accuracy"] is None and metrics["test_accuracy"] is None
    assert math.isfinite(metrics["test_loss"])


def test_loss_falls_on_circle() -> None:
    run = Run(config(training={"lr": 0.1}))
    start = run.metrics()
    assert not run.train(1500).diverged
    end = run.metrics()
    assert end["train_loss"] < 0.3 * start["train_loss"]
    assert end["train_accuracy"] >= 0.95 and end["test_accuracy"] >= 0.9
    assert end["epoch"] == 150


def test_surfaces_of_a_run() -> None:
    run = Run(config(network={"layers": [3, 5, 1]}, data={"features": ["x1", "x2", "x1sq"]}))
    result = run.surfaces(output_grid=8, neuron_grid=6)
    assert result["output"].shape == (1, 8, 8) and result["inputs"].shape == (3, 6, 6)
    assert [grid.shape for grid in result["hidden"]] == [(5, 6, 6)]
    assert result["inputs"][2, 0, 0] == 36.0  # x1² at the top-left corner (-6, 6)


def test_inspect_explains_the_next_batch_with_a_gradient_check() -> None:
    run = Run(config(training={"l2": 0.01}))
    run.train(10)
    run.set_focus(3)
    batch = run.next_batch()
    X, Y = run._X_train[batch], run.data.train_targets[batch]
    grads = run.network.gradients(X, Y)
    whole = run.network.gradients(run._X_train, run.data.train_targets)
    weight = run.inspect({"kind": "weight", "layer": 1, "i": 2, "j": 1})
    assert json.loads(json.dumps(weight)) == weight
    assert weight["gradient"] == grads[1]["W"][2, 1] and weight["focus_sample"] == 3
    assert weight["batch"]["n"] == 10 and weight["data"] == "batch"
    assert weight["batch_iteration"] == 11 and weight["focus_in_batch"] == (3 in batch)
    assert weight["training_set"] == {"n": 100, "gradient": whole[1]["W"][2, 1]}
    assert weight["gradcheck"]["relative_error"] < 1e-6
    assert weight["gradcheck"]["analytic"] == pytest.approx(grads[1]["W"][2, 1], rel=1e-12)
    assert weight["penalty"]["l2"] == 0.01
    bias = run.inspect({"kind": "bias", "layer": 0, "j": 3})
    assert bias["gradient"] == grads[0]["b"][3] and bias["gradcheck"]["relative_error"] < 1e-6
    neuron = run.inspect({"kind": "neuron", "layer": 2, "j": 0})
    assert neuron["gradcheck"]["analytic"] == pytest.approx(grads[2]["b"][0], rel=1e-12)
    assert neuron["training_set"]["mean_delta"] == pytest.approx(whole[2]["b"][0], rel=1e-12)
    assert neuron["gradcheck"]["relative_error"] < 1e-6


def test_the_inspected_batch_is_the_one_the_next_iteration_and_its_phases_use() -> None:
    # 100 samples in batches of 30: every fourth iteration ends a pass, so asking ahead draws
    # the next pass's order early; the run must go on exactly as one nobody inspected.
    options = {"batch_size": 30, "dropout": 0.2}
    run, twin = Run(config(training=options)), Run(config(training=options))
    target = {"kind": "weight", "layer": 0, "i": 0, "j": 1}
    for iteration in range(9):
        inspected = run.inspect(target)
        batch = run.next_batch()
        X, Y = run._X_train[batch], run.data.train_targets[batch]
        assert inspected["gradient"] == run.network.gradients(X, Y)[0]["W"][0, 1]
        if iteration % 2:
            phases = stepped_iteration(run)
            assert phases[0]["batch_size"] == len(batch)
        else:
            run.next_phase()  # mid-iteration, the inspected batch is the one being stepped
            assert run.inspect(target)["gradient"] == inspected["gradient"]
            run.train(1)
        twin.train(1)
        assert np.array_equal(run.network.params, twin.network.params)
        assert (run.iteration, run.epoch) == (twin.iteration, twin.epoch)


def test_inspecting_a_sample_outside_the_batch_explains_its_own_numbers() -> None:
    run = Run(config(network={"layers": [2, 3, 2, 1]}))
    batch = run.next_batch()
    sample = next(s for s in range(run.n_train) if s not in batch)
    run.set_focus(sample)
    x = run._X_train[sample]
    trace = run.network.forward_trace(x[None, :])
    neuron = run.inspect({"kind": "neuron", "layer": 1, "j": 0})
    assert neuron["focus_sample"] == sample and neuron["focus_in_batch"] is False
    assert neuron["z"] == trace.Z[1][0, 0] and neuron["a"] == trace.A[1][0, 0]
    weight = run.inspect({"kind": "weight", "layer": 1, "i": 2, "j": 0})
    assert weight["focus"]["a_i"] == trace.A[0][0, 2]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"kind": "edge", "layer": 0, "j": 0}, "kind: must be one of weight, bias, neuron"),
        ({"kind": "weight", "layer": 0, "j": 0}, "i: must be an integer"),
        ({"kind": "bias", "layer": 5, "j": 0}, r"layer: must be an integer in \[0, 2\]"),
        ({"kind": "neuron", "layer": 0, "j": 4}, r"j: must be an integer in \[0, 3\]"),
        ({"kind": "neuron", "layer": 0, "j": 0, "x": 1}, "target.x: unknown key"),
        ("weight", "target: must be an object"),
    ],
)
def test_inspect_names_a_bad_target(target: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Run({}).inspect(target)  # type: ignore[arg-type]


def test_config_is_not_shared_with_the_caller() -> None:
    given = default_config()
    run = Run(given)
    run.set({"lr": 0.2})
    assert given["training"]["lr"] == 0.03
    copy.deepcopy(run.config)["training"]["lr"] = 5
    assert run.config["training"]["lr"] == 0.2


def test_set_or_edit_restarts_an_unfinished_iteration_on_the_same_batch() -> None:
    run, twin = Run({}), Run({})
    first = run.next_phase()
    run.next_phase()
    run.set({"lr": 0.1})
    again = run.next_phase()
    assert again["phase"] == "forward" and again["layer"] == 0
    assert np.array_equal(again["Z"], first["Z"]) and run.iteration == 0
    run.edit("W", 0, 0, 0, 0.5)
    assert run.next_phase()["phase"] == "forward"
    twin.set({"lr": 0.1})
    twin.edit("W", 0, 0, 0, 0.5)
    run.train(3)
    twin.train(3)
    assert np.array_equal(run.network.params, twin.network.params)


def test_three_classes_train_with_softmax_and_cross_entropy() -> None:
    run = Run(
        config(
            network={"layers": [2, 6, 3], "output": "softmax", "loss": "ce"},
            training={"lr": 0.1},
            data={"dataset": "three_gauss"},
        )
    )
    assert run.data.train_targets.shape == (100, 3) and run.data.n_classes == 3
    start = run.metrics()["train_loss"]
    run.train(300)
    end = run.metrics()
    assert end["train_loss"] < 0.5 * start and end["train_accuracy"] >= 0.95


def test_inspecting_a_bias_of_a_network_without_biases_has_no_check() -> None:
    run = Run(config(network={"bias": False}))
    bias = run.inspect({"kind": "bias", "layer": 0, "j": 1})
    assert bias["gradcheck"] is None and bias["trained"] is False
    neuron = run.inspect({"kind": "neuron", "layer": 0, "j": 1})
    assert neuron["gradcheck"]["relative_error"] < 1e-6


def test_classification_points_have_one_target() -> None:
    with pytest.raises(ValueError, match=r"data\.points\[0\]: must be \[x1, x2, target\]"):
        Run(config(data={"points": [[0, 0, 1, 0]]}))


def test_huge_numbers_are_refused_not_crashed_on() -> None:
    with pytest.raises(ValueError, match=r"training\.lr: must be a finite number"):
        Run(config(training={"lr": 10**400}))
    with pytest.raises(ValueError, match="value: must be a finite number"):
        Run({}).edit("W", 0, 0, 0, -(10**400))
    bad = config()
    bad["network"]["init_scale"] = 10**400
    with pytest.raises(ValueError, match=r"network\.init_scale: must be a finite number"):
        Run(bad)
    bad = config()
    bad["network"]["weights"] = [
        [[1.0] * 4, [1.0, 10**400, 1.0, 1.0]],
        [[0.0] * 2] * 4,
        [[0.0]] * 2,
    ]
    with pytest.raises(ValueError, match=r"network\.weights\[0\]\[1\]\[1\]: must be a finite"):
        Run(bad)


def test_metrics_of_an_overflowing_network_stay_json() -> None:
    run = Run(config(network={"output": "linear", "loss": "mse"}, data={"dataset": "plane"}))
    run.network.weights[2][...] = 1e300  # beyond what edit allows: the loss overflows
    metrics = run.metrics()
    assert metrics["train_loss"] is None and metrics["test_loss"] is None
    assert metrics["layers"][2]["weight_norm"] is None
    json.dumps(metrics, allow_nan=False)


def test_errors_never_echo_a_huge_value() -> None:
    with pytest.raises(ValueError, match=r"training\.lr: must be a finite number") as error:
        Run(config(training={"lr": "x" * 100_000}))
    assert len(str(error.value)) < 200
    with pytest.raises(ValueError, match=r"unknown key") as error:
        Run({"training": {"y" * 100_000: 1}})
    assert len(str(error.value)) < 400


def test_a_small_training_set_shrinks_the_default_batch_and_keeps_a_set_one() -> None:
    points = [[1, 1, 1], [-1, 2, 0], [3, -3, 1], [0.5, 0.5, 0]]
    assert Run({"data": {"points": points}}).config["training"]["batch_size"] == 2
    with pytest.raises(ValueError, match=r"training\.batch_size: must be an integer in \[1, 2\]"):
        Run({"data": {"points": points}, "training": {"batch_size": 10}})
    run = Run({})
    run.set_points(points)
    run.set({"lr": 0.1})  # batch_size 10 stays: each batch is the whole training set
    assert run.config["training"]["batch_size"] == 10
    run.clone(training=run.config["training"])
    with pytest.raises(ValueError, match=r"training\.batch_size: must be an integer in \[1, 2\]"):
        run.set({"batch_size": 3})


def test_a_relu_layer_pushed_below_zero_is_reported_dead() -> None:
    run = Run(config(network={"activation": "relu", "init": "he"}))
    assert run.metrics()["layers"][0]["dead_fraction"] < 1
    for j in range(4):
        run.edit("b", 0, None, j, -100.0)  # |W x| < 100 on the whole plane: never fires
    metrics = run.metrics()
    assert metrics["layers"][0]["dead_fraction"] == 1.0
    run.train(1)
    assert run.metrics()["layers"][0]["grad_norm"] == 0.0  # dead units pass back no gradient


def test_a_saturated_tanh_layer_is_reported() -> None:
    run = Run(config(network={"init": "normal", "init_scale": 60.0}))
    saturated = run.metrics()["layers"][0]["saturated_fraction"]
    assert saturated > 0.9
    assert run.metrics()["layers"][2]["saturated_fraction"] is not None  # sigmoid output


def test_a_two_class_set_trains_with_two_softmax_outputs_on_the_same_points() -> None:
    sigmoid = Run(config(network={"layers": [2, 6, 1]}, training={"lr": 0.1}))
    softmax = Run(
        config(
            network={"layers": [2, 6, 2], "output": "softmax", "loss": "ce"}, training={"lr": 0.1}
        )
    )
    targets = softmax.data.train_targets
    assert targets.shape == (100, 2)
    assert np.array_equal(targets[:, 1], sigmoid.data.train_targets[:, 0])
    assert np.array_equal(targets.sum(axis=1), np.ones(100))
    assert softmax.data.train_rows() == sigmoid.data.train_rows()  # the page's points: the same
    start = softmax.metrics()["train_loss"]
    softmax.train(400)
    end = softmax.metrics()
    assert end["train_loss"] < 0.5 * start and end["train_accuracy"] >= 0.95
    softmax.set_points([[1, 1, 1], [-1, -1, 0], [2, 2, 1], [-2, -2, 0]])  # class indices
    assert softmax.data.train_targets.shape[1] == 2
