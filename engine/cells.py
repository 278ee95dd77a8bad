"""The recurrent cells' names and constants, on their own so that the run schema can offer them
without importing the recurrent network (engine/recurrent_spec.py uses them too)."""

from .checks import Range

# name -> the label the page shows (hello.schema's network.cell choices).
CELL_LABELS = {"rnn": "RNN", "lstm": "LSTM"}
CELLS = tuple(CELL_LABELS)
RNN_ACTIVATIONS = ("tanh", "relu")
# An lstm's nonlinearities are part of the cell: sigmoid gates, this on the candidate and state.
LSTM_ACTIVATION = "tanh"
# Gate order inside W_x, W_h and b (column blocks of width H), as in torch.nn.LSTM.
LSTM_GATES = ("i", "f", "g", "o")
# A forget-gate bias of 1-2 is the usual start (Jozefowicz et al. 2015); beyond 10 σ(b) is 1.
FORGET_BIAS_RANGE = Range(-10.0, 10.0)
