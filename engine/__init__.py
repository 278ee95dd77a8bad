"""backprop-lab's NumPy engine: networks, training, and backpropagation made visible."""

from .network import Network
from .recurrent import Recurrent
from .run import Limits, Run, TrainStatus, default_config
from .trainer import StepResult, Trainer

__all__ = ["Network", "Recurrent", "StepResult", "Trainer"]
__all__ += ["Limits", "Run", "TrainStatus", "default_config"]
