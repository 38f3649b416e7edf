"""A saved network that predicts in NumPy and SciPy, without TensorFlow.

Importing TensorFlow takes 3.5 to 5 s and about 0.5 GB; predicting one review
with three small dense layers takes microseconds. A model loaded for prediction
only (``skimdb.persistence.load(folder, network="numpy")``) answers with
:class:`NetworkPredictor`, which computes what the Keras network computes, in
float32 as Keras does: a sparse-dense product for the first layer (scipy), dense
products after it, the same activations. Its probabilities match the Keras
network's to about 1e-7. It cannot train: load with ``network="keras"`` for that.
The forward pass is the core's (:mod:`._core`), the one a fitted IMDBNet
predicts and trains with.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from skimdb.network._core import ACTIVATIONS, class_probabilities, network_outputs

__all__ = ["NetworkPredictor", "predictor_from_saved_state"]


class NetworkPredictor(ClassifierMixin, BaseEstimator):
    """A fitted dense network that predicts in NumPy, from its weights alone.

    Parameters
    ----------
    weights : list of ndarray
        Each Dense layer's kernel then bias, first layer first (Keras'
        ``model.get_weights()`` order).
    activation : str
        The hidden layers' activation (a key of ``ACTIVATIONS``).
    classes : array-like of shape (n_classes,)
        The labels; two give one sigmoid output unit, more a softmax layer.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, in ``predict_proba``'s column order.
    n_features_in_ : int
        The width of the input.

    Examples
    --------
    >>> import numpy as np
    >>> from skimdb.network._inference import NetworkPredictor
    >>> weights = [np.eye(2, 1, dtype="float32"), np.zeros(1, dtype="float32")]
    >>> net = NetworkPredictor.from_weights(weights, "relu", ["neg", "pos"])
    >>> net.predict_proba(np.array([[0.0, 1.0], [2.0, 0.0]])).round(3)
    array([[0.5  , 0.5  ],
           [0.119, 0.881]], dtype=float32)
    >>> net.predict([[2.0, 0.0]])
    array(['pos'], dtype='<U3')
    """

    def __init__(self, weights, activation, classes):
        self.weights = weights
        self.activation = activation
        self.classes = classes

    @classmethod
    def from_weights(cls, weights, activation, classes):
        """A predictor ready to use, its weights and classes checked.

        Parameters
        ----------
        weights, activation, classes
            As the class' parameters.

        Returns
        -------
        predictor : NetworkPredictor
            The network, ready to predict.
        """
        predictor = cls(weights, activation, classes)
        predictor._check()
        return predictor

    def _check(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation={self.activation!r} has no NumPy forward pass here "
                f"(it has: {', '.join(sorted(ACTIVATIONS))}); load the model with "
                "network='keras' instead."
            )
        weights = [np.asarray(w, dtype=np.float32) for w in self.weights]
        if not weights or len(weights) % 2:
            raise ValueError("weights must be kernel, bias pairs, one per layer")
        self._layers = []
        width = weights[0].shape[0]
        for kernel, bias in zip(weights[::2], weights[1::2], strict=True):
            if (
                kernel.ndim != 2
                or kernel.shape[0] != width
                or bias.shape != (kernel.shape[1],)
            ):
                raise ValueError(
                    f"layer {len(self._layers) + 1}'s kernel {kernel.shape} and bias "
                    f"{bias.shape} do not follow a layer of width {width}"
                )
            self._layers.append((kernel, bias))
            width = kernel.shape[1]
        self.classes_ = np.asarray(self.classes)
        if width != (1 if len(self.classes_) == 2 else len(self.classes_)):
            raise ValueError(
                f"the network has {width} outputs for {len(self.classes_)} classes"
            )
        self.n_features_in_ = self._layers[0][0].shape[0]

    def fit(self, X, y=None):
        """Not available: this predictor holds a trained network's weights only.

        Raises
        ------
        TypeError
            Always; load the model with ``network="keras"`` to train it.
        """
        raise TypeError(
            "A model loaded with network='numpy' predicts only; load it with "
            "skimdb.persistence.load(folder, network='keras') to train it."
        )

    def predict_proba(self, X):
        """Probabilities of the classes, as the Keras network gives them.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The reviews' features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=np.float32)
        weights = [array for layer in self._layers for array in layer]
        hidden = [self.activation] * (len(self._layers) - 1)
        return class_probabilities(network_outputs(weights, hidden, X))

    def predict(self, X):
        """The most probable class of each review.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The reviews' features.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_layers")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # --- saved state (skimdb.persistence.load(network="numpy") calls this) ----

    @classmethod
    def _from_saved_state(cls, params, state):
        """The predictor of a saved IMDBNet (``params`` and ``state`` as
        :func:`skimdb.persistence.load` hands them), after the same checks as
        ``IMDBNet._from_saved_state``; the ``.keras`` file is never read."""
        from skimdb.network._params import read_saved_state

        return predictor_from_saved_state(params, read_saved_state(params, state))


def predictor_from_saved_state(params, state):
    """The :class:`NetworkPredictor` of a saved IMDBNet: its ``activation``
    parameter, and the ``weights_`` and ``classes_`` of its saved state."""
    if "weights_" not in state:
        raise ValueError(
            "this model was saved without weights_ (an older skimdb); load it with "
            "network='keras'"
        )
    return NetworkPredictor.from_weights(
        state["weights_"], params.get("activation", "relu"), state["classes_"]
    )
