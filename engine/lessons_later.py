"""Lessons 9 to 15: the rest of the list engine/lessons.py begins."""

from engine.lesson_data import lesson_config

LATER_LESSONS: list[dict] = [
    {
        "id": "initialisation",
        "title": "Initialisation and symmetry",
        "summary": "All-zero weights keep every hidden unit identical forever.",
        "text": (
            "If every weight starts at zero, every hidden neuron in a layer computes the same "
            "thing, receives the same gradient and makes the same update, so they stay copies "
            "of one another and the layer is worth a single neuron. Random initialisation, such "
            "as Xavier's or He's, breaks this symmetry, which is why networks start from random "
            "weights."
        ),
        "watch": "The hidden neurons' pictures: with zeros they are all the same, and stay so.",
        "try": "Switch the initialisation to Xavier or He and press Play again.",
        "config": lesson_config(
            network={"layers": [2, 4, 4, 1], "activation": "sigmoid", "init": "zeros"},
            training={"lr": 0.3},
        ),
        "view": {},
    },
    {
        "id": "overfitting",
        "title": "Overfitting",
        "summary": "Few noisy points and a big network: test loss rises as training loss falls.",
        "text": (
            "With only a handful of noisy training points, a big network can bend its decision "
            "surface around each one, including the noise. The training loss keeps falling but "
            "the loss on test points it never sees starts to rise. L2 regularisation adds λ·w "
            "to every weight's gradient, pulling weights towards zero and keeping the surface "
            "smooth, so the gap between test and training loss shrinks."
        ),
        "watch": "Train and test loss curves drifting apart; the surface hugging single points.",
        "try": "Set L2 to 0.03, press Reset, then Play: from the same start the gap nearly closes.",
        "config": lesson_config(
            network={"layers": [2, 16, 16, 1], "activation": "relu", "init": "he"},
            training={"lr": 0.03, "optimizer": "adam"},
            data={"dataset": "gauss", "n_points": 60, "noise": 40, "train_ratio": 0.34},
        ),
        "view": {"charts": "loss"},
    },
    {
        "id": "flat-regions",
        "formerly": ["local-minima"],  # its id until it was found to show no strict minimum
        "title": "Flat regions",
        "summary": "XOR with two hidden neurons: long flat stretches that look like being stuck.",
        "text": (
            "XOR needs two hidden neurons working together. On the way there the loss curve "
            "lies flat for seconds, well above zero: the ground is so level that each step "
            "barely moves the weights. Often it stays flat with a whole quadrant wrong, which "
            "looks like a local minimum, a pit with no way out. For this network it is not "
            "one: Hamey (1998) showed that the error surface of the 2-2-1 XOR network has no "
            "local minima, only flat regions (plateaus and saddle points) where the loss still "
            "slopes down, just very gently. How long a run stays on one depends on where it "
            "starts."
        ),
        "watch": "The loss curve: a quick drop, then a long flat stretch well above zero.",
        "try": (
            "Leave it running through a flat stretch: the ground still slopes down, so five "
            "seconds later the loss is lower than where the stretch began. A pit would hold it."
        ),
        "config": lesson_config(
            network={"layers": [2, 2, 1], "seed": 2},
            training={"lr": 0.1},
            data={"dataset": "xor"},
        ),
        "view": {},
    },
    {
        "id": "noisy-data",
        "title": "Noisy data",
        "summary": "The same problem with 0 % and 50 % noise.",
        "text": (
            "Real data is noisy: labels overlap and no boundary can be perfect. With no noise "
            "this network separates the two clusters completely. At 50 % noise the clusters "
            "spill into one another: the loss levels off far above zero and accuracy stays well "
            "below 100 %. That remaining error is in the data, not in the network."
        ),
        "watch": "The final loss and accuracy at each noise level.",
        "try": "Move the noise slider to 50 and train again from the same seed.",
        "config": lesson_config(
            network={"layers": [2, 4, 1]},
            training={"lr": 0.1},
            data={"dataset": "gauss", "noise": 0},
        ),
        "view": {},
    },
    {
        "id": "layer-locking",
        "title": "Layer locking",
        "summary": "Freeze the first layer and watch only the later ones learn.",
        "text": (
            "Freezing (locking) a layer keeps its weights and biases fixed: the backward pass "
            "still goes through it, but the update skips it. The later layers must make do "
            "with the features the frozen layer already computes. This is how a pretrained "
            "network is fine-tuned: early layers locked, the last ones trained."
        ),
        "watch": "The first layer's edges never change; the later edges keep moving.",
        "try": "Unfreeze the first layer and compare how low the loss goes.",
        "config": lesson_config(
            network={"layers": [2, 6, 4, 1]},
            training={"lr": 0.1, "frozen": [0]},
        ),
        "view": {},
    },
    {
        "id": "dropout",
        "title": "Dropout",
        "summary": "Hidden units switched off at random while training, and scaled up to match.",
        "text": (
            "Dropout switches off each hidden unit with probability p at every training step, "
            "a fresh random choice for every sample. In the forward phase a dropped unit "
            "passes on 0; the kept ones are multiplied by 1 / (1 − p), here 2, so that on "
            "average each unit passes on what it would without dropout. In the backward "
            "phase the same mask applies: a dropped unit's δ is 0, so the weights into it "
            "learn nothing from that sample. Testing and the loss curves use the whole "
            "network, without a mask. No unit can count on another being there, so none can "
            "specialise in single points: that is how dropout fights overfitting in large "
            "networks trained on little data. It is no cure-all: on a problem this small it "
            "keeps the training loss up every time, but lowers the test loss only on some "
            "seeds."
        ),
        "watch": (
            "Step through one iteration: in the forward phase some hidden nodes are dark "
            "(dropped) and the others' values are doubled; in the backward phase the dark "
            "nodes' δ is 0."
        ),
        "try": (
            "Set dropout to 0, press Reset and Play for three seconds: the training loss falls "
            "lower than with dropout, now that every unit can fit single points."
        ),
        "config": lesson_config(
            network={"layers": [2, 16, 16, 1], "activation": "relu", "init": "he"},
            training={"lr": 0.03, "optimizer": "adam", "dropout": 0.5},
            data={"dataset": "gauss", "n_points": 60, "noise": 40, "train_ratio": 0.34},
        ),
        "view": {"mode": "step"},
    },
    {
        "id": "backprop-cost",
        "title": "Why backpropagation is fast",
        "summary": "A numerical gradient: two forward passes per weight; backprop: one of each.",
        "text": (
            "Training needs the slope of the loss along every parameter. The obvious way is to "
            "nudge one parameter up a little and run the network forward, nudge it down and "
            "run it again, and divide the difference: two forward passes per parameter, so a "
            "network with P parameters needs 2P forward passes for one gradient. "
            "Backpropagation gets all P slopes from one forward and one backward pass: each "
            "neuron's δ is computed once and reused by every weight that feeds it and by the "
            "layer before. A backward pass costs one to two forward passes, so the numerical "
            "way costs roughly P times more, and the gap widens as the network grows."
        ),
        "watch": (
            "The cost table: for networks of growing size, the parameters, the forward passes "
            "each way and the measured time of each. Both ways give the same gradient to at "
            "least six digits. Its last line is your own network, measured again whenever it "
            "changes."
        ),
        "try": (
            "Add a hidden layer or a few neurons with the + buttons over the network and watch "
            "the last line: the numerical way needs two more forward passes for every new "
            "parameter; backpropagation still needs one of each."
        ),
        "config": lesson_config(network={"layers": [2, 4, 1]}),
        "view": {"cost_table": [[2, 2, 1], [2, 4, 4, 1], [2, 8, 8, 8, 1], [2, 16, 16, 16, 1]]},
    },
]
