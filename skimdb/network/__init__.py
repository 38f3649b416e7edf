"""The IMDB dense network as a scikit-learn classifier (scikeras' KerasClassifier).

- ``_imdbnet``: :class:`IMDBNet`, the network's own logic (build, train, saved
  state);
- ``_scikeras_compat``: every override of scikeras' ``KerasClassifier``, and why
  (the only module of skimdb that imports scikeras);
- ``_training``: the epoch loop, one traced TensorFlow graph per epoch;
- ``_numpy_training``: the same step in NumPy and SciPy, for the networks it
  covers (most of them: 7 to 10 times faster per epoch);
- ``_layers``: the sparse first layer;
- ``_inference``: the forward pass in NumPy/SciPy, to predict from a saved
  model's weights without importing TensorFlow.

Importing this package is cheap: ``IMDBNet`` (and with it TensorFlow, 3.5 to 5 s)
is imported on first use.
"""

__all__ = ["IMDBNet"]


def __getattr__(name):
    if name == "IMDBNet":
        from skimdb.network._imdbnet import IMDBNet

        return IMDBNet
    raise AttributeError(f"module 'skimdb.network' has no attribute {name!r}")
