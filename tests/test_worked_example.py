"""The published worked example of backpropagation (2-2-2 sigmoid net, halved squared error).

In our orientation W[l] is (fan_in, fan_out): w1 = x1→h1, w2 = x2→h1, w3 = x1→h2, w4 = x2→h2,
w5 = h1→o1, w6 = h2→o1, w7 = h1→o2, w8 = h2→o2. The published example leaves its biases fixed;
we check the weights only: every gradient of a step comes from the same pass, before anything
moves, so whether the biases move too cannot change the new weights.
"""

import numpy as np
import pytest

from engine import Network, Trainer
from engine.lesson_data import WORKED_EXAMPLE_LR, WORKED_EXAMPLE_NETWORK, WORKED_EXAMPLE_POINTS
from engine.phases import explain_weight
from tests.published_worked_example import GRADIENT_W5, NEW_WEIGHTS, TOTAL_ERROR

# The published inputs, as lesson 3 (engine/lesson_data.py) loads them.
SPEC = WORKED_EXAMPLE_NETWORK
X, Y = np.hsplit(np.array(WORKED_EXAMPLE_POINTS), [2])


def test_forward_pass_and_total_error_match_the_published_numbers() -> None:
    net = Network.from_spec(SPEC)
    out = net.forward(X)[0]
    assert out[0] == pytest.approx(0.75136507, abs=1e-8)
    assert out[1] == pytest.approx(0.772928465, abs=1e-9)
    assert net.loss(X, Y) == pytest.approx(TOTAL_ERROR, abs=1e-9)


def test_one_step_gives_the_published_weights() -> None:
    net = Network.from_spec(SPEC)
    biases_before = [b.copy() for b in net.biases]
    trainer = Trainer(net, optimizer="sgd", lr=WORKED_EXAMPLE_LR)
    result = trainer.step(X, Y)
    assert result.loss == pytest.approx(TOTAL_ERROR, abs=1e-9)
    assert not result.diverged
    for (layer, i, j), published in NEW_WEIGHTS.items():
        assert net.weights[layer][i, j] == pytest.approx(published, abs=1e-8), (layer, i, j)
    # Biases do move in our trainer (the published example simply leaves them out); the
    # weights above do not depend on that because all gradients come from the same pass.
    assert not np.array_equal(net.biases[1], biases_before[1])


def test_chain_rule_of_w5_prints_the_published_arithmetic() -> None:
    net = Network.from_spec(SPEC)
    explanation = explain_weight(net, X, Y, layer=1, i=0, j=0)
    assert explanation["gradient"] == pytest.approx(GRADIENT_W5, abs=1e-9)
    focus = explanation["focus"]
    assert focus["a_i"] == pytest.approx(0.593269992, abs=1e-9)
    assert focus["delta"]["dL_dyhat"] == pytest.approx(0.74136507, abs=1e-8)
    assert focus["delta"]["f_prime"] == pytest.approx(0.186815602, abs=1e-9)
    assert explanation["formula"] == "∂L/∂w = a_i · δ_j = 0.5933 × 0.1385 = 0.08217"


def test_chain_rule_of_w1_sums_over_both_outputs() -> None:
    net = Network.from_spec(SPEC)
    explanation = explain_weight(net, X, Y, layer=0, i=0, j=0)
    delta = explanation["focus"]["delta"]
    assert [term["w"] for term in delta["downstream"]] == [0.40, 0.50]  # w5, w7
    assert delta["sum"] == pytest.approx(0.036350306, abs=1e-9)
    assert delta["f_prime"] == pytest.approx(0.241300709, abs=1e-9)
    assert explanation["gradient"] == pytest.approx(0.000438568, abs=1e-9)
