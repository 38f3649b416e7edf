"""The dense network's arithmetic in NumPy and SciPy: the one copy.

Modelled on scikit-learn's ``neural_network`` package (``_base.py``'s tables,
``_stochastic_optimizers.py``'s optimizer classes, one forward pass for fit and
predict), but computing what the Keras network computes, in float32 as Keras
does. Three users:

- the NumPy training step (:mod:`._numpy_training`): :func:`forward`,
  :data:`LOSS_GRADIENTS`, :func:`backward` and an optimizer class's
  ``update_params``, and :data:`LOSS_FUNCTIONS` for the validation loss;
- a fitted :class:`~skimdb.IMDBNet` predicting (:func:`network_outputs` on its
  Keras variables' values);
- a model loaded for prediction only (:mod:`._inference`), from its saved
  weights, without importing TensorFlow: nothing here imports it at import
  time; only the optimizer classes, given a Keras optimizer, import Keras.

The weights are Keras' ``model.get_weights()`` order: each layer's kernel then
bias, first layer first. The first layer's input may be a CSR matrix (a
sparse-dense product) or an array.
"""

import contextlib
import functools
import threading

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

__all__ = [
    "ACTIVATIONS",
    "DERIVATIVES",
    "EPSILON",
    "LOSS_FUNCTIONS",
    "LOSS_GRADIENTS",
    "OPTIMIZERS",
    "backward",
    "class_probabilities",
    "forward",
    "keras_loss_name",
    "l2_penalty",
    "mean_loss",
    "n_correct",
    "network_outputs",
    "network_targets",
    "numpy_optimizer",
    "one_blas_thread",
    "optimizer_unsupported",
    "output_probabilities",
]

#: Keras' default fuzz factor (``keras.config.epsilon()``): probabilities are
#: clipped to [EPSILON, 1 - EPSILON] before a logarithm.
EPSILON = 1e-7

#: Rows per forward pass in :func:`network_outputs`: bounds the hidden layers' size.
_PREDICT_CHUNK = 65536
#: Rows that :func:`network_outputs` predicts without limiting BLAS' threads.
_FEW_ROWS = 64


# --- activations -------------------------------------------------------------------


def _sigmoid(z):
    # 1 / (1 + exp(-z)) as Keras, without overflow: exp of -|z| only
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def _elu(z):
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))


def _selu(z):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))


#: The activations (Keras' names) computed as Keras computes them. Each takes a
#: layer's pre-activation ``z``, which it may overwrite, and returns the
#: activation (as scikit-learn's in-place ``ACTIVATIONS``).
ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0, out=z),
    "relu6": lambda z: np.clip(z, 0, 6, out=z),
    "tanh": lambda z: np.tanh(z, out=z),
    "sigmoid": _sigmoid,
    "softmax": _softmax,
    "elu": _elu,
    "selu": _selu,
    "softplus": lambda z: np.logaddexp(z, 0).astype(z.dtype),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "silu": lambda z: z * _sigmoid(z),
    "swish": lambda z: z * _sigmoid(z),
    "exponential": np.exp,
}


def _relu_derivative(a, delta):
    delta *= a > 0


def _tanh_derivative(a, delta):
    delta *= 1 - np.square(a)


def _sigmoid_derivative(a, delta):
    delta *= a * (1 - a)


#: The hidden activations the training step covers: each multiplies ``delta``
#: (the loss's gradient by the layer's output ``a``) in place by the
#: activation's derivative, written from ``a``.
DERIVATIVES = {
    "linear": lambda a, delta: None,
    "relu": _relu_derivative,
    "tanh": _tanh_derivative,
    "sigmoid": _sigmoid_derivative,
}


# --- losses ------------------------------------------------------------------------
#
# Targets ``y`` are as the network trains on them (:func:`network_targets`): a
# column of 0/1 or of class indices, or one-hot rows for mse on several classes.


def _binary_log_loss(y, p, eps=EPSILON):
    # Keras' binary cross-entropy from probabilities (Model.evaluate's)
    clipped = np.clip(p, eps, 1 - eps)
    return -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))[:, 0]


def _sparse_log_loss(y, p, eps=EPSILON):
    # Keras' sparse categorical cross-entropy from probabilities
    clipped = np.clip(p, eps, 1 - eps)
    labels = y[:, 0].astype(np.intp)
    return np.log(clipped.sum(axis=1)) - np.log(clipped[np.arange(len(labels)), labels])


def _squared_loss(y, p, eps=EPSILON):
    return np.mean(np.square(p - y), axis=1)


#: Keras' losses (its names) of the probabilities ``p`` on targets ``y``, per
#: sample, as ``Model.evaluate`` computes them: ``f(y, p, eps=EPSILON)``.
LOSS_FUNCTIONS = {
    "binary_crossentropy": _binary_log_loss,
    "sparse_categorical_crossentropy": _sparse_log_loss,
    "mse": _squared_loss,
    "mean_squared_error": _squared_loss,
}


def _binary_log_loss_gradient(logits, p, y, scale):
    # sigmoid cross-entropy from the logits, as tf.nn computes it in training
    losses = np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
    return losses[:, 0], (p - y) * scale


def _sparse_log_loss_gradient(logits, p, y, scale):
    labels = y[:, 0].astype(np.intp)
    rows = np.arange(len(labels))
    shifted = logits - logits.max(axis=1, keepdims=True)
    losses = np.log(np.exp(shifted).sum(axis=1)) - shifted[rows, labels]
    grad = p.copy()
    grad[rows, labels] -= 1
    return losses, grad * scale


def _squared_loss_gradient(logits, p, y, scale):
    k = logits.shape[1]
    diff = p - y
    losses = np.mean(np.square(diff), axis=1)
    dp = diff * (2 / k) * scale
    if k == 1:  # through the sigmoid
        return losses, dp * p * (1 - p)
    return losses, p * (dp - np.sum(dp * p, axis=1, keepdims=True))  # softmax


#: The training step's losses: ``f(logits, p, y, scale)`` gives the per-sample
#: losses (from the output's logits where Keras' TensorFlow backend takes them)
#: and the gradient of their ``scale``-weighted sum by the logits (``scale``: a
#: column of each sample's weight over the batch size).
LOSS_GRADIENTS = {
    "binary_crossentropy": _binary_log_loss_gradient,
    "sparse_categorical_crossentropy": _sparse_log_loss_gradient,
    "mse": _squared_loss_gradient,
    "mean_squared_error": _squared_loss_gradient,
}


def keras_loss_name(loss, n_classes):
    """The Keras loss of IMDBNet's ``loss`` parameter: cross-entropy is binary for
    two classes (one sigmoid unit) and sparse categorical for more (softmax); mse
    is on the 0/1 target or on the one-hot targets."""
    if loss == "binary_crossentropy" and n_classes > 2:
        return "sparse_categorical_crossentropy"
    return loss


def network_targets(codes, n_classes, loss):
    """The targets the network trains on, from class indices ``codes``: a float32
    column, or one-hot rows for mse on more than two classes."""
    y = np.asarray(codes, dtype=np.float32).reshape(-1, 1)
    if n_classes > 2 and loss != "binary_crossentropy":
        y = np.eye(n_classes, dtype=np.float32)[y[:, 0].astype(np.intp)]
    return y


def mean_loss(loss, y, proba, classes, eps=EPSILON):
    """The mean loss of IMDBNet's ``loss`` parameter, as Keras evaluates it.

    Parameters
    ----------
    loss : str
        IMDBNet's ``loss`` parameter (``"binary_crossentropy"``, ``"mse"``).
    y : array-like of shape (n_samples,)
        The labels, each one of ``classes``.
    proba : ndarray of shape (n_samples, n_classes)
        The class probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
        The model's ``classes_``.
    eps : float, default=EPSILON
        Probabilities are clipped to ``[eps, 1 - eps]`` before a logarithm.

    Returns
    -------
    loss : float

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> round(mean_loss("binary_crossentropy", [0, 1], proba, [0, 1]), 4)
    0.1643
    >>> round(mean_loss("mse", ["a", "c"], proba, ["a", "c"]), 3)
    0.025
    """
    classes, y = np.asarray(classes), np.asarray(y)
    order = np.argsort(classes)
    found = np.searchsorted(classes, y, sorter=order)
    codes = order[np.minimum(found, len(classes) - 1)]
    if not np.array_equal(classes[codes], y):
        raise ValueError(
            f"y holds labels that are not among the model's classes "
            f"{classes.tolist()}; score it on labels of those classes."
        )
    n_classes = len(classes)
    targets = network_targets(codes, n_classes, loss)
    p = proba[:, 1:2] if n_classes == 2 else proba
    losses = LOSS_FUNCTIONS[keras_loss_name(loss, n_classes)](targets, p, eps)
    return float(np.mean(losses))


def n_correct(y, p):
    """How many predictions are right, as Keras' accuracy metrics count them: a
    probability on the side of 0.5 of its 0/1 target, or the most probable of
    several classes (a label, or one-hot)."""
    if p.shape[1] == 1:
        return float(np.sum((p > 0.5) == (y > 0.5)))
    predicted = p.argmax(axis=1)
    labels = y[:, 0] if y.shape[1] == 1 else y.argmax(axis=1)
    return float(np.sum(predicted == labels))


def l2_penalty(weights, l2):
    """The sum of the layers' L2 penalties (``l2[i]``: layer i's factor or None)."""
    return sum(
        float(factor * np.sum(np.square(weights[2 * i])))
        for i, factor in enumerate(l2)
        if factor is not None
    )


# --- the forward and backward passes -----------------------------------------------


def forward(weights, activations, X):
    """Every layer's output on ``X``: the hidden layers' activations, then the
    output layer's logits (before its sigmoid or softmax).

    ``activations`` names each hidden layer's activation (keys of
    :data:`ACTIVATIONS`), one fewer than the layers."""
    outputs = []
    x = X
    for i, name in enumerate((*activations, None)):
        kernel, bias = weights[2 * i], weights[2 * i + 1]
        z = np.asarray(x @ kernel, dtype=np.float32)
        z += bias
        if name is not None:
            z = ACTIVATIONS[name](z)
        outputs.append(z)
        x = z
    return outputs


def output_probabilities(logits):
    """The output layer's activation: a sigmoid unit, or a softmax over several."""
    return _sigmoid(logits) if logits.shape[1] == 1 else _softmax(logits)


def class_probabilities(outputs):
    """The network's outputs as probabilities of each class (two columns for
    one sigmoid unit)."""
    if outputs.shape[1] == 1:
        return np.column_stack([1 - outputs[:, 0], outputs[:, 0]])
    return outputs


def network_outputs(weights, activations, X):
    """The network's outputs (probabilities, one column for two classes) on
    ``X``, in chunks of rows: the prediction of a fitted or a loaded network.

    Predicting 8,333 reviews this way takes about 5 ms, against about 50 ms for
    eager Keras calls on sparse tensors (each fold's scoring in a search).
    """
    n = X.shape[0]
    chunks = (
        [X[start : start + _PREDICT_CHUNK] for start in range(0, n, _PREDICT_CHUNK)]
        if n > _PREDICT_CHUNK
        else [X]  # no copy
    )
    # a few rows start no BLAS threads: spare them the limit's first library
    # scan (18 ms, in a one-review prediction's fresh process)
    threads = one_blas_thread() if n > _FEW_ROWS else contextlib.nullcontext()
    with np.errstate(all="ignore"), threads:
        return np.concatenate(
            [
                output_probabilities(forward(weights, activations, chunk)[-1])
                for chunk in chunks
            ]
        )


def backward(weights, activations, X, outputs, dz, l2):
    """The loss's gradient by every weight, from ``dz``, its gradient by the
    output's logits; ``outputs`` as :func:`forward` gave them on ``X``, ``l2``
    as :func:`l2_penalty` takes it. The first layer's kernel gradient is one
    CSC-dense product, dense as TensorFlow's."""
    grads = [None] * len(weights)
    for i in range(len(activations), -1, -1):
        below = X if i == 0 else outputs[i - 1]
        kernel = weights[2 * i]
        if i == 0 and sp.issparse(X):
            grad = np.asarray(X.T @ dz, dtype=np.float32)
        else:
            grad = below.T @ dz
        if l2[i] is not None:
            grad += (2 * l2[i]) * kernel
        grads[2 * i], grads[2 * i + 1] = grad, dz.sum(axis=0)
        if i:
            dz = dz @ kernel.T
            DERIVATIVES[activations[i - 1]](below, dz)
    return grads


# --- BLAS threads ------------------------------------------------------------------


@functools.cache
def _blas():
    """The process' BLAS libraries, found once (a scan of the loaded libraries)."""
    return ThreadpoolController()


_limit_lock = threading.Lock()
_limit = {"users": 0, "context": None}


@contextlib.contextmanager
def one_blas_thread():
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


# --- optimizers --------------------------------------------------------------------

#: Options of Keras' base optimizer that no class here computes.
_OPTIONS_LACKED = ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay",
                   "loss_scale_factor")  # fmt: skip


class _Optimizer:
    """Keras' update of one optimizer class, in NumPy, on float32 weights.

    A subclass is named as its Keras class and holds the whole mapping to it:
    which options it lacks (:meth:`unsupported`), which Keras variables hold its
    per-weight state (:meth:`slot_variables`), and Keras' update formula
    (:meth:`update_params`). The instance wraps one Keras optimizer, whose
    hyperparameters it reads.
    """

    def __init__(self, keras_optimizer):
        self.keras = keras_optimizer

    @classmethod
    def unsupported(cls, keras_optimizer):
        """Why this update is not Keras' for ``keras_optimizer``, or None: the
        options of Keras' base optimizer that none computes (a subclass checks
        its own first)."""
        import keras

        for option in _OPTIONS_LACKED:
            if getattr(keras_optimizer, option, None) is not None:
                return f"optimizer option {option}"
        if getattr(keras_optimizer, "use_ema", False):
            return "optimizer EMA"
        if (getattr(keras_optimizer, "gradient_accumulation_steps", None) or 1) > 1:
            return "gradient accumulation"
        learning_rate = cls._learning_rate(keras_optimizer)
        if (
            isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule)
            or callable(learning_rate)
            or not hasattr(learning_rate, "numpy")
        ):
            return "a learning-rate schedule"
        return None

    @staticmethod
    def _learning_rate(keras_optimizer):
        # a variable, a schedule or a callable (the public property calls it)
        return keras_optimizer._learning_rate

    def slot_variables(self):
        """The Keras optimizer's per-weight variables: lists in the order of
        the weights, one list per slot."""
        return []

    def read_state(self):
        """The Keras optimizer's slots (float32 copies, as
        :meth:`slot_variables`), iteration count and learning rate."""
        optimizer = self.keras
        slots = [
            [np.array(v.numpy(), dtype=np.float32) for v in variables]
            for variables in self.slot_variables()
        ]
        learning_rate = np.float32(self._learning_rate(optimizer).numpy())
        return slots, int(optimizer.iterations.numpy()), learning_rate

    def write_state(self, slots, iterations):
        """Give the Keras optimizer the slots and iteration count back."""
        for variables, values in zip(self.slot_variables(), slots, strict=True):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)
        self.keras.iterations.assign(iterations)

    def update_params(self, weights, grads, slots, step, lr):
        """Keras' update of each weight, in place, for the ``step``-th
        application (1 for the first); ``grads`` may be overwritten."""
        raise NotImplementedError


class RMSprop(_Optimizer):
    """``keras.optimizers.RMSprop`` without momentum or centering."""

    def __init__(self, keras_optimizer):
        super().__init__(keras_optimizer)
        self._scratches = {}  # per weight: a float32 array reused across steps

    @classmethod
    def unsupported(cls, keras_optimizer):
        if keras_optimizer.momentum or keras_optimizer.centered:
            return "RMSprop with momentum or centered"
        return super().unsupported(keras_optimizer)

    def slot_variables(self):
        return [self.keras._velocities]

    def _scratch(self, i, like):
        """A float32 array shaped as ``like``, reused across steps."""
        buf = self._scratches.get(i)
        if buf is None or buf.shape != like.shape:
            buf = self._scratches[i] = np.empty_like(like)
        return buf

    def update_params(self, weights, grads, slots, step, lr):
        f32 = np.float32
        rho, eps = f32(self.keras.rho), f32(self.keras.epsilon)
        one_minus_rho = f32(1 - self.keras.rho)
        for i, (w, g, v) in enumerate(zip(weights, grads, slots[0], strict=True)):
            # Keras' operations in Keras' order, into a scratch array: large
            # temporaries cost page faults each step
            buf = self._scratch(i, g)
            np.square(g, out=buf)
            buf *= one_minus_rho
            v *= rho
            v += buf
            np.add(v, eps, out=buf)
            np.sqrt(buf, out=buf)
            g *= lr
            g /= buf
            w -= g


class Adam(_Optimizer):
    """``keras.optimizers.Adam`` without amsgrad."""

    @classmethod
    def unsupported(cls, keras_optimizer):
        if keras_optimizer.amsgrad:
            return "Adam with amsgrad"
        return super().unsupported(keras_optimizer)

    def slot_variables(self):
        return [self.keras._momentums, self.keras._velocities]

    def update_params(self, weights, grads, slots, step, lr):
        f32, optimizer = np.float32, self.keras
        beta_1, beta_2 = f32(optimizer.beta_1), f32(optimizer.beta_2)
        t = f32(step)
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        eps = f32(optimizer.epsilon)
        for w, g, m, v in zip(weights, grads, *slots, strict=True):
            m += (g - m) * f32(1 - optimizer.beta_1)
            v += (np.square(g) - v) * f32(1 - optimizer.beta_2)
            w -= (m * alpha) / (np.sqrt(v) + eps)


class SGD(_Optimizer):
    """``keras.optimizers.SGD``, with or without momentum, not Nesterov's."""

    @classmethod
    def unsupported(cls, keras_optimizer):
        if keras_optimizer.nesterov:
            return "SGD with nesterov"
        return super().unsupported(keras_optimizer)

    def slot_variables(self):
        return [self.keras.momentums] if self.keras.momentum else []

    def update_params(self, weights, grads, slots, step, lr):
        if slots:  # momentum
            momentum = np.float32(self.keras.momentum)
            for w, g, m in zip(weights, grads, slots[0], strict=True):
                m *= momentum
                m -= g * lr
                w += m
        else:
            for w, g in zip(weights, grads, strict=True):
                w -= g * lr


#: The optimizer classes, by the name of the Keras class each computes.
OPTIMIZERS = {kind.__name__: kind for kind in (RMSprop, Adam, SGD)}


def _optimizer_class(keras_optimizer):
    import keras

    kind = OPTIMIZERS.get(type(keras_optimizer).__name__)
    if kind is None or type(keras_optimizer) is not getattr(
        keras.optimizers, kind.__name__
    ):
        return None  # another class, or a subclass that may compute otherwise
    return kind


def optimizer_unsupported(keras_optimizer):
    """Why no optimizer class here computes ``keras_optimizer``'s update, or None."""
    kind = _optimizer_class(keras_optimizer)
    if kind is None:
        return f"optimizer {type(keras_optimizer).__name__}"
    return kind.unsupported(keras_optimizer)


def numpy_optimizer(keras_optimizer):
    """The optimizer class' instance that computes ``keras_optimizer``'s update
    (one :func:`optimizer_unsupported` accepts)."""
    return _optimizer_class(keras_optimizer)(keras_optimizer)
