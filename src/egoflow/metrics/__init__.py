"""Every evaluation metric of egoflow: numpy arrays in, floats out, exact to the official definitions.

One module per family, all importable from here (`from egoflow.metrics import mir_map`). Protocols (which frames,
which texts, which split) live in the stage modules (`egoflow.evaluate`, `egoflow.framewise`, ...); these
functions only score. `egoflow.metrics.summary` gathers every stage's result JSON into the one results table.
"""

from egoflow.metrics.anticipation import *  # noqa: F403
from egoflow.metrics.framewise import *  # noqa: F403
from egoflow.metrics.mcq import *  # noqa: F403
from egoflow.metrics.retrieval import *  # noqa: F403
from egoflow.metrics.segmentation import *  # noqa: F403
from egoflow.metrics.states import *  # noqa: F403
