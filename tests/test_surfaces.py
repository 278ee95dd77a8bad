"""Surfaces: orientation of the grid and equality with a per-point loop (the loop is test-only)."""

import math

import numpy as np
import pytest

from engine.features import expand
from engine.network import Network
from engine.surfaces import grid_points, surfaces


def _network(layers: list[int], output: str = "sigmoid") -> Network:
    return Network.from_spec({"layers": layers, "activation": "tanh", "output": output, "seed": 4})


def test_grid_orientation_top_left_is_minus6_plus6() -> None:
    points = grid_points(3)
    assert points.tolist() == [
        [-6, 6], [0, 6], [6, 6],
        [-6, 0], [0, 0], [6, 0],
        [-6, -6], [0, -6], [6, -6],
    ]  # fmt: skip


def test_every_neuron_matches_a_loop_over_grid_points() -> None:
    features = ["x1", "x2", "x1x2", "sinx1"]
    network = _network([4, 3, 2, 2], output="softmax")
    result = surfaces(network, features, output_grid=5, neuron_grid=4)
    assert result["extent"] == [-6, 6]
    assert result["output"].shape == (2, 5, 5)
    assert result["inputs"].shape == (4, 4, 4)
    assert [grid.shape for grid in result["hidden"]] == [(3, 4, 4), (2, 4, 4)]
    W, b = network.weights, network.biases
    for size, check in ((5, "output"), (4, "neurons")):
        for row in range(size):
            for col in range(size):
                x1 = -6 + 12 * col / (size - 1)
                x2 = 6 - 12 * row / (size - 1)
                a0 = np.array([x1, x2, x1 * x2, math.sin(x1)])
                a1 = np.tanh(a0 @ W[0] + b[0])
                a2 = np.tanh(a1 @ W[1] + b[1])
                z3 = a2 @ W[2] + b[2]
                a3 = np.exp(z3) / np.exp(z3).sum()
                if check == "output":
                    assert np.allclose(result["output"][:, row, col], a3, rtol=0, atol=1e-12)
                    continue
                assert np.allclose(result["inputs"][:, row, col], a0, rtol=0, atol=1e-12)
                assert np.allclose(result["hidden"][0][:, row, col], a1, rtol=0, atol=1e-12)
                assert np.allclose(result["hidden"][1][:, row, col], a2, rtol=0, atol=1e-12)


def test_output_surface_equals_forward_on_the_grid() -> None:
    network = _network([2, 4, 1])
    result = surfaces(network, ["x1", "x2"], output_grid=7, neuron_grid=3)
    expected = network.forward(expand(grid_points(7), ["x1", "x2"]))[:, 0].reshape(7, 7)
    assert np.array_equal(result["output"][0], expected)
    assert result["output"].dtype == np.float64


def test_network_without_hidden_layers_has_no_hidden_surfaces() -> None:
    result = surfaces(_network([2, 1]), ["x1", "x2"], output_grid=4, neuron_grid=4)
    assert result["hidden"] == []


@pytest.mark.parametrize("size", [1, 0, 257, 2.5, True, "20"])
def test_grid_size_is_checked(size: object) -> None:
    with pytest.raises(ValueError, match="output_grid: must be an integer in"):
        surfaces(_network([2, 1]), ["x1", "x2"], output_grid=size, neuron_grid=4)
    with pytest.raises(ValueError, match="neuron_grid: must be an integer in"):
        surfaces(_network([2, 1]), ["x1", "x2"], output_grid=4, neuron_grid=size)


def test_one_forward_pass_serves_every_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    network = _network([2, 3, 3, 1])
    calls = []
    original = network.forward_trace

    def counted(X: np.ndarray, masks=None):
        calls.append(X.shape)
        return original(X, masks)

    monkeypatch.setattr(network, "forward_trace", counted)
    surfaces(network, ["x1", "x2"], output_grid=30, neuron_grid=10)
    assert calls == [(30 * 30 + 10 * 10, 2)]


def test_grid_inputs_are_built_once_and_shared_read_only() -> None:
    network = _network([3, 2, 1])
    first = surfaces(network, ["x1", "x2", "x1sq"], output_grid=6, neuron_grid=4)
    second = surfaces(network, ["x1", "x2", "x1sq"], output_grid=6, neuron_grid=4)
    assert second["inputs"] is first["inputs"]  # cached: a server asks 30 times a second
    assert not first["inputs"].flags.writeable
    other = surfaces(_network([2, 2, 1]), ["x1", "x2"], output_grid=6, neuron_grid=4)
    assert other["inputs"].shape == (2, 4, 4)  # the features are part of the cache key
