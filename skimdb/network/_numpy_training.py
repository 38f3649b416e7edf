"""The epoch loop written out in NumPy and SciPy, for the networks it covers.

A step of the TensorFlow epoch graph (:mod:`._training`) runs about 200 kernels,
each with some tens of microseconds of fixed cost on two cores: 7.7 ms for a
batch of 512 reviews at 16 units, of which the arithmetic (two sparse products
of about 1M multiply-adds, the small dense layers, the optimizer's update) is
about 1 ms. Written by hand, the step is about 25 NumPy and SciPy calls, all
of them the network core's (:mod:`._core`); this module reads the Keras model
into the core's terms and runs the epoch:

- forward: a CSR-dense product for the first layer, dense products after it;
- the gradients of the loss Keras compiles for the network (its cross-entropy
  from the output's logits, as Keras' TensorFlow backend takes it, or mse), with
  its ``sum_over_batch_size`` reduction of sample-weighted losses and its L2
  penalties, back through the layers (the first layer's kernel gradient is one
  CSC-dense product, dense like TensorFlow's);
- Keras' own update formulas of ``RMSprop``, ``Adam`` and ``SGD``, in float32,
  on every weight, so the optimizer state is the one Keras would hold.

It covers the networks IMDBNet builds without dropout, with the hidden
activations of the core's ``DERIVATIVES`` and an optimizer without gradient
clipping, weight decay, EMA or a learning-rate schedule;
:func:`numpy_step_unsupported` says why any other network trains in the
TensorFlow graph. The weights and optimizer state are read
from the Keras variables at the start of each epoch and written back at its end,
so callbacks, early stopping, saving and warm starts see the Keras model as
``Model.fit`` leaves it. Tests check that it reaches the TensorFlow step's
weights, optimizer state and history (to 1e-5 relative; 1e-7 apart in
practice), and Keras' own ``fit`` (tests/test_network.py).
"""

import numpy as np
import scipy.sparse as sp

from skimdb.network._core import (
    DERIVATIVES,
    LOSS_FUNCTIONS,
    LOSS_GRADIENTS,
    backward,
    forward,
    l2_penalty,
    n_correct,
    network_outputs,
    numpy_optimizer,
    one_blas_thread,
    optimizer_unsupported,
    output_probabilities,
)

__all__ = [
    "NumpyEpochTrainer",
    "keras_weights",
    "numpy_outputs",
    "numpy_step_unsupported",
]


def _dense_layers(model):
    """The model's layers after its input, in order."""
    import keras

    return [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]


def _activation_name(layer):
    """The layer's activation, as a key of the core's tables, or None."""
    import keras

    activation = layer.activation
    for name in (*DERIVATIVES, "softmax"):
        if activation is keras.activations.get(name):
            return name
    return None


def numpy_step_unsupported(model):
    """Why ``model`` cannot train through :class:`NumpyEpochTrainer`, or None.

    Parameters
    ----------
    model : keras.Model
        A compiled IMDBNet network.

    Returns
    -------
    reason : str or None
        None when the NumPy step computes what Keras' step does.
    """
    layers = _dense_layers(model)
    if not layers:
        return "no layers"
    reason = _layers_unsupported(layers)
    if reason is not None:
        return reason
    if [id(v) for v in model.trainable_variables] != [
        id(v) for layer in layers for v in (layer.kernel, layer.bias)
    ]:
        return "the trainable variables are not the layers' kernels and biases"
    if model.non_trainable_variables:
        return "the network has non-trainable state"
    if not isinstance(model.loss, str) or model.loss not in LOSS_GRADIENTS:
        return f"loss {model.loss!r}"
    if (model.loss == "binary_crossentropy") != (layers[-1].units == 1) and (
        model.loss not in ("mse", "mean_squared_error")
    ):
        return f"{model.loss} on {layers[-1].units} outputs"
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return "no optimizer (an uncompiled network)"
    return optimizer_unsupported(optimizer)


def _layers_unsupported(layers):
    """Why the core's passes do not compute the ``layers`` (Dense, in order), or
    None."""
    import keras

    from skimdb.network._layers import SparseDense

    for i, layer in enumerate(layers):
        if type(layer) not in (SparseDense, keras.layers.Dense):
            return f"layer {layer.name} is a {type(layer).__name__}"
        if (
            not layer.use_bias
            or layer.bias_regularizer is not None
            or layer.activity_regularizer is not None
            or layer.kernel_constraint is not None
            or layer.bias_constraint is not None
            or getattr(layer, "lora_enabled", False)
            or getattr(layer, "quantization_mode", None)
        ):
            return f"layer {layer.name} has options the NumPy step lacks"
        regularizer = layer.kernel_regularizer
        if regularizer is not None and type(regularizer) is not keras.regularizers.L2:
            return f"layer {layer.name}'s regularizer is not L2"
        name = _activation_name(layer)
        last = i == len(layers) - 1
        if name is None or (name == "softmax") != (last and layer.units > 1):
            return f"layer {layer.name}'s activation"
        if last and name not in ("sigmoid", "softmax"):
            return "the output is neither sigmoid nor softmax"
        if layer.compute_dtype != "float32" or layer.variable_dtype != "float32":
            return "a dtype policy other than float32"
    return None


def keras_weights(model):
    """The values of ``model``'s weights (float32 copies, kernel then bias per
    layer) and its hidden layers' activations, as the core's passes take them;
    ``model`` as :func:`numpy_step_unsupported` accepts it."""
    weights = [np.array(v.numpy(), dtype=np.float32) for v in model.trainable_variables]
    return weights, [_activation_name(layer) for layer in _dense_layers(model)[:-1]]


def numpy_outputs(model, X):
    """The network's outputs (probabilities) on CSR ``X``, computed by the core's
    forward pass; ``model`` as :func:`numpy_step_unsupported` accepts it."""
    return network_outputs(*keras_weights(model), X)


class NumpyEpochTrainer:
    """Runs epochs of minibatch training of ``model`` on CSR data in NumPy.

    The same interface as :class:`~skimdb.network._training.EpochTrainer`; the
    model must be one :func:`numpy_step_unsupported` accepts. The arithmetic is
    the core's (:mod:`._core`); this class reads the Keras model and its
    optimizer's variables, and runs the steps.

    Parameters
    ----------
    model : keras.Model
        A compiled IMDBNet network.
    batch_size : int
        Rows per gradient step.
    target_width : int, default=1
        Columns of the targets: 1 for labels, the number of classes for one-hot.
    """

    def __init__(self, model, batch_size, target_width=1):
        self.model = model
        self.batch_size = int(batch_size)
        self.target_width = int(target_width)
        layers = _dense_layers(model)
        self._activations = [_activation_name(layer) for layer in layers[:-1]]
        self._l2 = [
            np.float32(layer.kernel_regularizer.l2)
            if layer.kernel_regularizer is not None
            else None
            for layer in layers
        ]
        self._optimizer = None

    def _numpy_optimizer(self):
        """The core's optimizer of the model's Keras optimizer, built."""
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        if self._optimizer is None or self._optimizer.keras is not optimizer:
            self._optimizer = numpy_optimizer(optimizer)
        return self._optimizer

    def train_epoch(self, X, y, sample_weight, order=None):
        """One epoch over the CSR ``X``, its rows in ``order`` (None: as they are).

        Returns the epoch's mean ``loss`` and ``accuracy``.
        """
        if order is not None:
            X, y, sample_weight = X[order], y[order], sample_weight[order]
        optimizer = self._numpy_optimizer()
        weights, _ = keras_weights(self.model)
        slots, iterations, lr = optimizer.read_state()
        # a diverging step overflows quietly, as TensorFlow's does: the epoch's
        # loss that is not finite stops the fit (fit_model)
        with np.errstate(all="ignore"), one_blas_thread():
            loss, accuracy, iterations = self._steps(
                X, y, sample_weight, weights, (optimizer, slots, iterations, lr)
            )
        for variable, value in zip(
            self.model.trainable_variables, weights, strict=True
        ):
            variable.assign(value)
        optimizer.write_state(slots, iterations)
        return {"loss": loss, "accuracy": accuracy}

    def _steps(self, X, y, sample_weight, weights, state):
        optimizer, slots, iterations, lr = state
        gradient = LOSS_GRADIENTS[self.model.loss]
        n, width = X.shape
        data, indices, indptr = X.data, X.indices, X.indptr
        loss_sum = correct = 0.0
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            begin, end = indptr[start], indptr[stop]
            batch = sp.csr_matrix(
                (data[begin:end], indices[begin:end], indptr[start : stop + 1] - begin),
                shape=(stop - start, width),
                copy=False,
            )
            y_batch = y[start:stop]
            scale = (sample_weight[start:stop] / np.float32(stop - start))[:, None]
            outputs = forward(weights, self._activations, batch)
            p = output_probabilities(outputs[-1])
            losses, dz = gradient(outputs[-1], p, y_batch, scale)
            loss = float(np.sum(losses * scale[:, 0])) + l2_penalty(weights, self._l2)
            dz = dz.astype(np.float32)
            grads = backward(weights, self._activations, batch, outputs, dz, self._l2)
            iterations += 1
            optimizer.update_params(weights, grads, slots, iterations, lr)
            loss_sum += loss * (stop - start)
            correct += n_correct(y_batch, p)
        return loss_sum / n, correct / n, iterations

    def prepare_validation(self, X):
        """The validation data as :meth:`evaluate` takes it (the CSR matrix)."""
        return X

    def evaluate(self, X, y, sample_weight):
        """``loss`` and ``accuracy`` on the CSR ``X``, as ``Model.evaluate``
        reports them (cross-entropy from the clipped probabilities)."""
        import keras

        weights, _ = keras_weights(self.model)
        p = network_outputs(weights, self._activations, X)
        with np.errstate(all="ignore"):
            eps = np.float32(keras.config.epsilon())
            losses = LOSS_FUNCTIONS[self.model.loss](y, p, eps)
            loss = float(np.sum(losses * sample_weight) / len(losses))
        loss += l2_penalty(weights, self._l2)
        return {"loss": loss, "accuracy": n_correct(y, p) / len(p)}
