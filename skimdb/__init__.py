"""skimdb: classify IMDB movie reviews with scikit-learn and a Keras dense network."""

from skimdb._ragged import RaggedIds
from skimdb.parallel import dask_backend, local_cluster, worker_env
from skimdb.preprocessing import MultiHotVectorizer, NBLogCountRatio
from skimdb.presets import PRESETS, make_pipeline
from skimdb.text import ReviewEncoder

__version__ = "0.1.0"

__all__ = [
    "IMDBNet",
    "MultiHotVectorizer",
    "NBLogCountRatio",
    "PRESETS",
    "RaggedIds",
    "ReviewEncoder",
    "__version__",
    "dask_backend",
    "local_cluster",
    "make_pipeline",
    "worker_env",
]


def __getattr__(name):
    # IMDBNet imports TensorFlow (seconds); load it on first use only.
    if name == "IMDBNet":
        from skimdb.network import IMDBNet

        return IMDBNet
    raise AttributeError(f"module 'skimdb' has no attribute {name!r}")
