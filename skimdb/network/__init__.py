"""The IMDB dense network as a scikit-learn classifier (scikeras' KerasClassifier).

- ``_imdbnet``: :class:`IMDBNet`, the network's own logic (build, train, saved
  state);
- ``_scikeras_compat``: every override of scikeras' ``KerasClassifier``, and why
  (the only module of skimdb that imports scikeras);
- ``_core``: the network's arithmetic in NumPy and SciPy, the one copy:
  activation, derivative and loss tables, the forward and backward passes, and
  the optimizer classes (RMSprop, Adam, SGD), each with its mapping to Keras'
  variables. It trains, predicts for a fitted network, and predicts for a loaded
  one, and imports no TensorFlow;
- ``_numpy_training``: the epoch loop on the core, for the networks it covers
  (most of them: 7 to 10 times faster per epoch), and the test of which it
  covers (``IMDBNet._numpy_core_applies`` makes the choice);
- ``_training``: the epoch loop as one traced TensorFlow graph per epoch, for
  the others;
- ``_layers``: the sparse first layer;
- ``_inference``: ``NetworkPredictor``, a saved model's network predicting on the
  core, without importing TensorFlow.

Importing this package is cheap: ``IMDBNet`` (and with it TensorFlow, 3.5 to 5 s)
is imported on first use.
"""

__all__ = ["IMDBNet"]


def __getattr__(name):
    if name == "IMDBNet":
        from skimdb.network._imdbnet import IMDBNet

        return IMDBNet
    raise AttributeError(f"module 'skimdb.network' has no attribute {name!r}")
