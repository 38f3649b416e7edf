"""The epoch loop written out in NumPy and SciPy, for the networks it covers.

A step of the TensorFlow epoch graph (:mod:`._training`) runs about 200 kernels,
each with some tens of microseconds of fixed cost on two cores: 7.7 ms for a
batch of 512 reviews at 16 units, of which the arithmetic (two sparse products
of about 1M multiply-adds, the small dense layers, the optimizer's update) is
about 1 ms. Written by hand, the step is about 25 NumPy and SciPy calls:

- forward: a CSR-dense product for the first layer, dense products after it;
- the gradients of the loss Keras compiles for the network (its cross-entropy
  from the output's logits, as Keras' TensorFlow backend takes it, or mse), with
  its ``sum_over_batch_size`` reduction of sample-weighted losses and its L2
  penalties, back through the layers (the first layer's kernel gradient is one
  CSC-dense product, dense like TensorFlow's);
- Keras' own update formulas of ``RMSprop``, ``Adam`` and ``SGD``, in float32,
  on every weight, so the optimizer state is the one Keras would hold.

It covers the networks IMDBNet builds without dropout, with the activations
below and an optimizer without gradient clipping, weight decay, EMA or a
learning-rate schedule; :func:`numpy_step_unsupported` says why any other
network trains in the TensorFlow graph. The weights and optimizer state are read
from the Keras variables at the start of each epoch and written back at its end,
so callbacks, early stopping, saving and warm starts see the Keras model as
``Model.fit`` leaves it. Tests check that it reaches the TensorFlow step's
weights, optimizer state and history (to 1e-5 relative; 1e-7 apart in
practice), and Keras' own ``fit`` (tests/test_network.py).
"""

import contextlib
import functools
import threading

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

__all__ = ["NumpyEpochTrainer", "numpy_outputs", "numpy_step_unsupported"]

#: Rows per forward pass in :func:`numpy_outputs`: bounds the hidden layers' size.
_PREDICT_CHUNK = 65536

_HIDDEN = ("relu", "tanh", "sigmoid", "linear")
_LOSSES = ("binary_crossentropy", "sparse_categorical_crossentropy", "mse",
           "mean_squared_error")  # fmt: skip


@functools.cache
def _blas():
    """The process' BLAS libraries, found once (a scan of the loaded libraries)."""
    return ThreadpoolController()


_limit_lock = threading.Lock()
_limit = {"users": 0, "context": None}


@contextlib.contextmanager
def _one_blas_thread():
    """The dense products here are small (512 x 64 at most per step): OpenBLAS'
    threads make them 2 to 8 times slower than one thread (measured: a 512 x 64
    by 64 x 64 product takes 52 us on one thread, 115 to 414 us on two).

    The limit is the process', so it is counted: the first user sets it and the
    last one restores it, whatever the threads' order."""
    with _limit_lock:
        if _limit["users"] == 0:
            _limit["context"] = _blas().limit(limits=1, user_api="blas")
        _limit["users"] += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit["users"] -= 1
            if _limit["users"] == 0:
                _limit["context"].restore_original_limits()
                _limit["context"] = None


def _sigmoid(z):
    # 1 / (1 + exp(-z)) without overflow: exp of -|z| only
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float32, copy=False)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def _dense_layers(model):
    """The model's layers after its input, in order."""
    import keras

    return [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]


def _activation_name(layer):
    import keras

    activation = layer.activation
    for name in (*_HIDDEN, "softmax"):
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
    import keras

    from skimdb.network._layers import SparseDense

    layers = _dense_layers(model)
    if not layers:
        return "no layers"
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
        if name is None or (name == "softmax") != (
            i == len(layers) - 1 and layer.units > 1
        ):
            return f"layer {layer.name}'s activation"
        if i == len(layers) - 1 and name not in ("sigmoid", "softmax"):
            return "the output is neither sigmoid nor softmax"
    if [id(v) for v in model.trainable_variables] != [
        id(v) for layer in layers for v in (layer.kernel, layer.bias)
    ]:
        return "the trainable variables are not the layers' kernels and biases"
    if any(
        layer.compute_dtype != "float32" or layer.variable_dtype != "float32"
        for layer in layers
    ):
        return "a dtype policy other than float32"
    if model.non_trainable_variables:
        return "the network has non-trainable state"
    if not isinstance(model.loss, str) or model.loss not in _LOSSES:
        return f"loss {model.loss!r}"
    if model.loss == "binary_crossentropy" and layers[-1].units != 1:
        return "binary cross-entropy on several outputs"
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return "no optimizer (an uncompiled network)"
    kind = type(optimizer)
    if kind is keras.optimizers.RMSprop:
        if optimizer.momentum or optimizer.centered:
            return "RMSprop with momentum or centered"
    elif kind is keras.optimizers.Adam:
        if optimizer.amsgrad:
            return "Adam with amsgrad"
    elif kind is keras.optimizers.SGD:
        if optimizer.nesterov:
            return "SGD with nesterov"
    else:
        return f"optimizer {kind.__name__}"
    for option in ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay",
                   "loss_scale_factor"):  # fmt: skip
        if getattr(optimizer, option, None) is not None:
            return f"optimizer option {option}"
    if getattr(optimizer, "use_ema", False):
        return "optimizer EMA"
    if (getattr(optimizer, "gradient_accumulation_steps", None) or 1) > 1:
        return "gradient accumulation"
    learning_rate = optimizer._learning_rate  # a variable, a schedule or a callable
    if (
        isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule)
        or callable(learning_rate)
        or not hasattr(learning_rate, "numpy")
    ):
        return "a learning-rate schedule"
    return None


class NumpyEpochTrainer:
    """Runs epochs of minibatch training of ``model`` on CSR data in NumPy.

    The same interface as :class:`~skimdb.network._training.EpochTrainer`; the
    model must be one :func:`numpy_step_unsupported` accepts.

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
        self._scratches = {}  # per weight: a float32 array reused across steps
        self._activations = [_activation_name(layer) for layer in layers]
        self._l2 = [
            np.float32(layer.kernel_regularizer.l2)
            if layer.kernel_regularizer is not None
            else None
            for layer in layers
        ]
        self._mse = model.loss in ("mse", "mean_squared_error")
        self._kind = type(model.optimizer).__name__

    def _slot_variables(self):
        """The optimizer's per-weight variables, in the order of the weights."""
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        if self._kind == "RMSprop":
            return [optimizer._velocities]
        if self._kind == "Adam":
            return [optimizer._momentums, optimizer._velocities]
        return [optimizer.momentums] if optimizer.momentum else []

    # --- state in and out of Keras ---------------------------------------------

    def _read(self):
        model = self.model
        weights = [
            np.array(v.numpy(), dtype=np.float32) for v in model.trainable_variables
        ]
        slots = [
            [np.array(v.numpy(), dtype=np.float32) for v in variables]
            for variables in self._slot_variables()
        ]
        optimizer = model.optimizer
        return (
            weights,
            slots,
            int(optimizer.iterations.numpy()),
            np.float32(optimizer._learning_rate.numpy()),
        )

    def _write(self, weights, slots, iterations):
        model = self.model
        for variable, value in zip(model.trainable_variables, weights, strict=True):
            variable.assign(value)
        for variables, values in zip(self._slot_variables(), slots, strict=True):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)
        model.optimizer.iterations.assign(iterations)

    # --- the network's arithmetic ----------------------------------------------

    def _forward(self, weights, X):
        """Every layer's output on ``X`` (CSR); the last is the output's logits."""
        outputs = []
        x = X
        last = len(self._activations) - 1
        for i, name in enumerate(self._activations):
            kernel, bias = weights[2 * i], weights[2 * i + 1]
            z = np.asarray(x @ kernel, dtype=np.float32)
            z += bias
            if i < last:
                if name == "relu":
                    np.maximum(z, 0, out=z)
                elif name == "tanh":
                    np.tanh(z, out=z)
                elif name == "sigmoid":
                    z = _sigmoid(z)
            outputs.append(z)
            x = z
        return outputs

    def _probabilities(self, logits):
        if self._activations[-1] == "sigmoid":
            return _sigmoid(logits)
        return _softmax(logits)

    def _penalty(self, weights):
        return sum(
            float(l2 * np.sum(np.square(weights[2 * i])))
            for i, l2 in enumerate(self._l2)
            if l2 is not None
        )

    def _output_gradient(self, logits, y, scale):
        """The batch's per-sample losses and the loss's gradient by the logits
        (``scale``: each sample's weight over the batch size)."""
        p = self._probabilities(logits)
        k = logits.shape[1]
        if self._mse:
            diff = p - y
            losses = np.mean(np.square(diff), axis=1)
            dp = diff * (2 / k) * scale
            if k == 1:
                return losses, p, dp * p * (1 - p)
            return losses, p, p * (dp - np.sum(dp * p, axis=1, keepdims=True))
        if k == 1:  # sigmoid cross-entropy from the logits, as tf.nn computes it
            losses = (
                np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
            )[:, 0]
            return losses, p, (p - y) * scale
        labels = y[:, 0].astype(np.intp)
        rows = np.arange(len(labels))
        shifted = logits - logits.max(axis=1, keepdims=True)
        losses = np.log(np.exp(shifted).sum(axis=1)) - shifted[rows, labels]
        grad = p.copy()
        grad[rows, labels] -= 1
        return losses, p, grad * scale

    def _gradients(self, weights, X, outputs, dz):
        grads = [None] * len(weights)
        for i in range(len(self._activations) - 1, -1, -1):
            below = X if i == 0 else outputs[i - 1]
            kernel = weights[2 * i]
            if i == 0 and sp.issparse(X):
                grad = np.asarray(X.T @ dz, dtype=np.float32)
            else:
                grad = below.T @ dz
            if self._l2[i] is not None:
                grad += (2 * self._l2[i]) * kernel
            grads[2 * i], grads[2 * i + 1] = grad, dz.sum(axis=0)
            if i:
                da = dz @ kernel.T
                name, a = self._activations[i - 1], below
                if name == "relu":
                    da *= a > 0
                elif name == "tanh":
                    da *= 1 - np.square(a)
                elif name == "sigmoid":
                    da *= a * (1 - a)
                dz = da
        return grads

    def _scratch(self, i, like):
        """A float32 array shaped as ``like``, reused across steps."""
        buf = self._scratches.get(i)
        if buf is None or buf.shape != like.shape:
            buf = self._scratches[i] = np.empty_like(like)
        return buf

    def _update(self, weights, grads, slots, step, lr):
        """Keras' update of each weight, in place, for the ``step``-th
        application (1 for the first)."""
        optimizer = self.model.optimizer
        f32 = np.float32
        if self._kind == "RMSprop":
            rho, eps = f32(optimizer.rho), f32(optimizer.epsilon)
            for i, (w, g, v) in enumerate(zip(weights, grads, slots[0], strict=True)):
                # Keras' operations in Keras' order, into a scratch array: large
                # temporaries cost page faults each step
                buf = self._scratch(i, g)
                np.square(g, out=buf)
                buf *= f32(1 - optimizer.rho)
                v *= rho
                v += buf
                np.add(v, eps, out=buf)
                np.sqrt(buf, out=buf)
                g *= lr
                g /= buf
                w -= g
        elif self._kind == "Adam":
            beta_1, beta_2 = f32(optimizer.beta_1), f32(optimizer.beta_2)
            t = f32(step)
            alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
            eps = f32(optimizer.epsilon)
            for w, g, m, v in zip(weights, grads, *slots, strict=True):
                m += (g - m) * f32(1 - optimizer.beta_1)
                v += (np.square(g) - v) * f32(1 - optimizer.beta_2)
                w -= (m * alpha) / (np.sqrt(v) + eps)
        elif slots:  # SGD with momentum
            momentum = f32(optimizer.momentum)
            for w, g, m in zip(weights, grads, slots[0], strict=True):
                m *= momentum
                m -= g * lr
                w += m
        else:
            for w, g in zip(weights, grads, strict=True):
                w -= g * lr

    # --- the trainer's interface ------------------------------------------------

    def train_epoch(self, X, y, sample_weight, order=None):
        """One epoch over the CSR ``X``, its rows in ``order`` (None: as they are).

        Returns the epoch's mean ``loss`` and ``accuracy``.
        """
        if order is not None:
            X, y, sample_weight = X[order], y[order], sample_weight[order]
        weights, slots, iterations, lr = self._read()
        # a diverging step overflows quietly, as TensorFlow's does: the epoch's
        # loss that is not finite stops the fit (fit_model)
        with np.errstate(all="ignore"), _one_blas_thread():
            loss, accuracy, iterations = self._steps(
                X, y, sample_weight, weights, slots, iterations, lr
            )
        self._write(weights, slots, iterations)
        return {"loss": loss, "accuracy": accuracy}

    def _steps(self, X, y, sample_weight, weights, slots, iterations, lr):
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
            outputs = self._forward(weights, batch)
            losses, p, dz = self._output_gradient(outputs[-1], y_batch, scale)
            loss = float(np.sum(losses * scale[:, 0])) + self._penalty(weights)
            grads = self._gradients(weights, batch, outputs, dz.astype(np.float32))
            iterations += 1
            self._update(weights, grads, slots, iterations, lr)
            loss_sum += loss * (stop - start)
            correct += _n_correct(y_batch, p)
        return loss_sum / n, correct / n, iterations

    def prepare_validation(self, X):
        """The validation data as :meth:`evaluate` takes it (the CSR matrix)."""
        return X

    def evaluate(self, X, y, sample_weight):
        """``loss`` and ``accuracy`` on the CSR ``X``, as ``Model.evaluate``
        reports them (cross-entropy from the clipped probabilities)."""
        weights = [np.asarray(v.numpy()) for v in self.model.trainable_variables]
        with np.errstate(all="ignore"), _one_blas_thread():
            return self._evaluate(weights, X, y, sample_weight)

    def _evaluate(self, weights, X, y, sample_weight):
        p = self._probabilities(self._forward(weights, X)[-1])
        k = p.shape[1]
        if self._mse:
            losses = np.mean(np.square(p - y), axis=1)
        else:
            import keras

            eps = np.float32(keras.config.epsilon())
            clipped = np.clip(p, eps, 1 - eps)
            if k == 1:
                losses = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))[:, 0]
            else:
                labels = y[:, 0].astype(np.intp)
                losses = np.log(clipped.sum(axis=1)) - np.log(
                    clipped[np.arange(len(labels)), labels]
                )
        loss = float(np.sum(losses * sample_weight) / len(losses))
        loss += self._penalty(weights)
        return {"loss": loss, "accuracy": _n_correct(y, p) / len(p)}


def numpy_outputs(model, X):
    """The network's outputs (probabilities) on CSR ``X``, computed in NumPy as
    the epoch's forward pass computes them; ``model`` as
    :func:`numpy_step_unsupported` accepts it.

    Predicting 8,333 reviews this way takes about 5 ms, against about 50 ms for
    eager Keras calls on sparse tensors (each fold's scoring in a search).
    """
    trainer = NumpyEpochTrainer(model, batch_size=1)
    weights = [np.asarray(v.numpy()) for v in model.trainable_variables]
    with np.errstate(all="ignore"), _one_blas_thread():
        return np.concatenate(
            [
                trainer._probabilities(
                    trainer._forward(weights, X[start : start + _PREDICT_CHUNK])[-1]
                )
                for start in range(0, max(X.shape[0], 1), _PREDICT_CHUNK)
            ]
        )


def _n_correct(y, p):
    """As the graph's: a probability on the side of 0.5 of its 0/1 target, or the
    most probable of several classes (a label, or one-hot)."""
    if p.shape[1] == 1:
        return float(np.sum((p > 0.5) == (y > 0.5)))
    predicted = p.argmax(axis=1)
    labels = y[:, 0] if y.shape[1] == 1 else y.argmax(axis=1)
    return float(np.sum(predicted == labels))
