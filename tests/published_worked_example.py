"""The published worked example's numbers, shared by the engine and the lessons tests.

A 2-2-2 sigmoid network with halved squared error, learning rate 0.5, inputs 0.05/0.10 and
targets 0.01/0.99. In our orientation W[l] is (fan_in, fan_out): w1 = x1→h1, w2 = x2→h1,
w3 = x1→h2, w4 = x2→h2, w5 = h1→o1, w6 = h2→o1, w7 = h1→o2, w8 = h2→o2.
"""

TOTAL_ERROR = 0.298371109
GRADIENT_W5 = 0.082167041  # ∂E/∂w5

# Published values of w1 … w8 after one step, keyed by (layer, i, j).
NEW_WEIGHTS = {
    (0, 0, 0): 0.149780716,  # w1
    (0, 1, 0): 0.19956143,  # w2
    (0, 0, 1): 0.24975114,  # w3
    (0, 1, 1): 0.29950229,  # w4
    (1, 0, 0): 0.35891648,  # w5
    (1, 1, 0): 0.408666186,  # w6
    (1, 0, 1): 0.511301270,  # w7
    (1, 1, 1): 0.561370121,  # w8
}
