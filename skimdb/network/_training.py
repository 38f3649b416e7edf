"""Training a compiled Keras model on a CSR matrix, one traced graph per epoch.

``keras.Model.fit`` costs about 1.5 s per fit on this network before the first step
(autograph-converting ``train_step``, its metrics and the optimizer, then building
an iterator over a ``tf.data`` pipeline) and runs one traced call per batch. Here
the whole epoch of minibatch steps is one ``tf.while_loop`` over contiguous slices
of the (shuffled) CSR arrays, traced once per model without autograph. The step is
Keras' own: the model's forward pass, its compiled loss with its regularization
losses (``Model.compute_loss``) and its optimizer's ``apply``; Keras callbacks
still get ``on_epoch_*`` and ``on_train_*`` as in ``fit``, and one batch hook pair
per epoch, as with ``fit(steps_per_execution=<steps per epoch>)``.
"""

import collections
import json
import math
import threading

import keras
import numpy as np
import tensorflow as tf

from skimdb._ragged import row_ids
from skimdb.network._core import n_correct

__all__ = [
    "EpochTrainer",
    "TrainingDivergedError",
    "epoch_order",
    "fit_model",
    "predict_chunks",
    "sparse_chunks",
    "to_sparse_tensor",
]

#: Rows per forward pass when evaluating: bounds the sparse tensor's memory.
_EVAL_CHUNK = 8192


class TrainingDivergedError(ArithmeticError):
    """An epoch ended with a loss that is not finite (Keras' ``TerminateOnNaN``
    stops there too): the network's weights are no longer usable."""


class EpochTrainer:
    """Runs epochs of minibatch training of ``model`` on CSR data in one graph call.

    Tracing an epoch's graph costs about 0.5 s, more than an epoch of the
    notebook's network on 25,000 reviews. It is traced once per network *shape*
    in a process, not once per network: every network of the same
    architecture, loss, optimizer and batch size (each fold of a search, every
    refit) trains through one graph, traced on a private copy of the first such
    network, whose variables take this network's values (weights, optimizer
    state, seeds) before each epoch and give them back after it: two copies of
    ~0.2 M floats, against a trace. (Keras' ``optimizer.stateless_apply``,
    which would avoid the copies, is not supported on its TensorFlow backend.)
    A network whose shape's graph is busy in another thread traces its own.

    Parameters
    ----------
    model : keras.Model
        A compiled model whose input is sparse of width ``n_features``.
    batch_size : int
        Rows per gradient step.
    target_width : int, default=1
        Columns of the targets: 1 for labels, the number of classes for one-hot.
    """

    def __init__(self, model, batch_size, target_width=1):
        self.model = model
        self.batch_size = int(batch_size)
        self.target_width = int(target_width)
        self.n_features = int(model.inputs[0].shape[-1])
        if self.n_features > np.iinfo(np.int32).max:  # columns travel as int32
            raise ValueError(
                f"IMDBNet takes at most {np.iinfo(np.int32).max} input features, "
                f"got {self.n_features}; lower num_words or max_features."
            )
        self._own_graph = None

    def _epoch(self, *arrays):
        model = self.model
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        graph = _shared_graph(model, self.batch_size, self.target_width)
        if not graph.lock.acquire(blocking=False):  # busy in another thread
            if self._own_graph is None:
                self._own_graph = _EpochGraph(model, self.batch_size, self.target_width)
            return self._own_graph.run(*arrays)
        try:
            mine, its = _state_variables(model), _state_variables(graph.model)
            for source, target in zip(mine, its, strict=True):
                target.assign(source)
            outputs = graph.run(*arrays)
            for source, target in zip(its, mine, strict=True):
                target.assign(source)
            return outputs
        finally:
            graph.lock.release()

    def train_epoch(self, X, y, sample_weight, order=None):
        """One epoch over the CSR ``X``, its rows in ``order`` (None: as they are).

        Returns the epoch's mean ``loss`` and ``accuracy``.
        """
        if order is not None:
            X, y, sample_weight = X[order], y[order], sample_weight[order]
        # int32 halves what is copied into TensorFlow; each step casts its slice
        rows = row_ids(X.indptr, np.int32)
        loss, accuracy = self._epoch(
            rows,
            X.indices.astype(np.int32, copy=False),
            X.data,
            X.indptr.astype(np.int64, copy=False),
            y,
            sample_weight,
        )
        return {"loss": float(loss), "accuracy": float(accuracy)}

    def prepare_validation(self, X):
        """The validation data as :meth:`evaluate` takes it: converted once."""
        return sparse_chunks(X)

    def evaluate(self, chunks, y, sample_weight):
        """``loss`` and ``accuracy`` on ``chunks`` (from :func:`sparse_chunks`), as
        ``Model.evaluate`` reports them."""
        y_pred = _outputs(self.model, chunks)
        loss = self.model.compute_loss(
            y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
        )
        accuracy = n_correct(y, y_pred) / len(y_pred)
        return {"loss": float(loss), "accuracy": accuracy}


class _EpochGraph:
    """One epoch of minibatch training of ``model`` on CSR data as one traced
    graph; the arguments are :class:`EpochTrainer`'s."""

    def __init__(self, model, batch_size, target_width):
        self.model = model
        self.batch_size = batch_size
        self.n_features = int(model.inputs[0].shape[-1])
        #: Held while another network's values are in ``model``'s variables.
        self.lock = threading.Lock()
        signature = [
            tf.TensorSpec([None], tf.int32),  # row of each stored value
            tf.TensorSpec([None], tf.int32),  # its column
            tf.TensorSpec([None], tf.float32),  # the value
            tf.TensorSpec([None], tf.int64),  # CSR row offsets
            tf.TensorSpec([None, target_width], tf.float32),  # labels, or one-hot
            tf.TensorSpec([None], tf.float32),  # sample weights
        ]
        # autograph=False: the loop is an explicit tf.while_loop, and converting
        # Keras' layers, loss and optimizer code would double the tracing time.
        self.run = tf.function(
            self._run_epoch, input_signature=signature, autograph=False
        )

    def _run_epoch(self, rows, columns, values, indptr, y, sample_weight):
        model = self.model
        variables = model.trainable_variables
        n = tf.shape(y, out_type=tf.int64)[0]
        batch_size = tf.constant(self.batch_size, tf.int64)
        steps = (n + batch_size - 1) // batch_size

        def step(i, loss_sum, correct):
            start = i * batch_size
            stop = tf.minimum(start + batch_size, n)
            begin, end = indptr[start], indptr[stop]
            batch = tf.SparseTensor(
                tf.cast(
                    tf.stack([rows[begin:end], columns[begin:end]], axis=1), tf.int64
                )
                - tf.stack([start, 0]),
                values[begin:end],
                dense_shape=tf.stack([stop - start, self.n_features]),
            )
            y_batch = y[start:stop]
            with tf.GradientTape() as tape:
                y_pred = model(batch, training=True)
                loss = model.compute_loss(
                    x=batch,
                    y=y_batch,
                    y_pred=y_pred,
                    sample_weight=sample_weight[start:stop],
                )
            model.optimizer.apply(tape.gradient(loss, variables), variables)
            size = tf.cast(stop - start, tf.float32)
            return (
                i + 1,
                loss_sum + loss * size,  # Keras averages batch losses by batch size
                correct + tf.reduce_sum(_hits(y_batch, y_pred)),
            )

        zero = tf.constant(0.0)
        _, loss_sum, correct = tf.while_loop(
            lambda i, *_: i < steps,
            step,
            (tf.constant(0, tf.int64), zero, zero),
        )
        n = tf.cast(n, tf.float32)
        return loss_sum / n, correct / n


#: How many traced epoch graphs (and their template networks) a process keeps.
_GRAPHS_KEPT = 8
_graphs = collections.OrderedDict()
_graphs_lock = threading.Lock()


def _state_variables(model):
    """Every variable an epoch reads and writes: the weights, the other state
    (dropout's seeds) and the optimizer's (its step, learning rate, slots)."""
    return [
        *model.trainable_variables,
        *model.non_trainable_variables,
        *model.optimizer.variables,
    ]


def _shape_key(model, batch_size, target_width):
    """What a traced epoch depends on: the architecture (less the initializers
    and seeds, whose effect is in the variables' values), the loss, the
    optimizer's class and configuration (less its learning rate, a variable),
    the batch size and the targets' width."""

    def strip(value):
        if isinstance(value, dict):
            return {
                key: strip(item)
                for key, item in value.items()
                if key not in ("kernel_initializer", "bias_initializer", "seed")
            }
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    optimizer = model.optimizer.get_config()
    optimizer.pop("learning_rate", None)
    optimizer.pop("name", None)  # unique per instance: rm_sprop_1, ...
    return json.dumps(
        [
            strip(model.get_config()),
            model.loss if isinstance(model.loss, str) else repr(model.loss),
            type(model.optimizer).__name__,
            optimizer,
            batch_size,
            target_width,
            [(v.shape, str(v.dtype)) for v in _state_variables(model)],
        ],
        sort_keys=True,
        default=str,
    )


def _shared_graph(model, batch_size, target_width):
    """The epoch graph of ``model``'s shape, traced on a private copy of the
    first network of that shape (never on a user's network, whose values the
    copies would overwrite); the last few shapes are kept."""
    key = _shape_key(model, batch_size, target_width)
    with _graphs_lock:
        graph = _graphs.get(key)
        if graph is None:
            graph = _graphs[key] = _EpochGraph(
                _private_copy(model), batch_size, target_width
            )
            while len(_graphs) > _GRAPHS_KEPT:
                _graphs.popitem(last=False)
        _graphs.move_to_end(key)
        return graph


def _private_copy(model):
    """A compiled copy of ``model`` (same layers, loss, optimizer configuration)
    with its optimizer built, whose variables only shared epochs use."""
    copy = keras.models.clone_model(model)
    optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
    copy.compile(optimizer=optimizer, loss=model.loss)
    optimizer.build(copy.trainable_variables)
    return copy


def _hits(y, y_pred):
    """Keras' accuracy of each prediction, 0 or 1: binary (a probability on the
    side of 0.5 of its 0/1 target), sparse categorical (labels) or categorical
    (one-hot); the core's ``n_correct`` counts the same in NumPy."""
    if y_pred.shape[-1] == 1:
        return keras.metrics.binary_accuracy(y, y_pred)
    if y.shape[-1] == 1:
        return keras.metrics.sparse_categorical_accuracy(y, y_pred)
    return keras.metrics.categorical_accuracy(y, y_pred)


def to_sparse_tensor(X):
    """A canonical CSR matrix as a ``tf.SparseTensor`` (same order, no densifying)."""
    coo = X.tocoo()  # row-major, as the CSR it comes from
    indices = np.stack([coo.row, coo.col], axis=1).astype(np.int64)
    return tf.SparseTensor(indices, coo.data, dense_shape=X.shape)


def sparse_chunks(X):
    """CSR ``X`` as ``tf.SparseTensor`` blocks of at most 8,192 rows each."""
    return [
        to_sparse_tensor(X[start : start + _EVAL_CHUNK])
        for start in range(0, X.shape[0], _EVAL_CHUNK)
    ]


def predict_chunks(model, X):
    """The model's outputs on CSR ``X``, called eagerly on chunks of rows.

    Calling the model eagerly on large sparse chunks skips the tracing of Keras'
    predict function and its per-batch dataset machinery, which cost more than the
    arithmetic here.
    """
    return _outputs(model, sparse_chunks(X))


def _outputs(model, chunks):
    return np.concatenate([np.asarray(model(chunk)) for chunk in chunks])


def epoch_order(n, seed, epoch):
    """The row order of ``epoch``: a permutation drawn from ``(seed, epoch)`` alone,
    so it is reproducible and reads no global random state."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def fit_model(
    trainer,
    X,
    y,
    sample_weight,
    *,
    epochs,
    initial_epoch=0,
    first_order_epoch=0,
    shuffle_seed=None,
    validation=None,
    callbacks=(),
    verbose=0,
):
    """Train like ``keras.Model.fit``; returns the per-epoch logs as a dict of lists.

    ``epochs`` is the number of epochs to run; Keras sees them numbered from
    ``initial_epoch``. The shuffle of each is drawn from ``shuffle_seed`` and its
    index counted from ``first_order_epoch`` (None: no shuffle). ``validation`` is
    ``(X, y, sample_weight)`` or None.
    """
    model = trainer.model
    steps = math.ceil(X.shape[0] / trainer.batch_size)
    callbacks = keras.callbacks.CallbackList(
        list(callbacks),
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=initial_epoch + epochs,
        steps=steps,
        model=model,
    )
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    history = {}
    model.stop_training = False
    if validation is not None:  # converted once, evaluated after every epoch
        validation = (trainer.prepare_validation(validation[0]), *validation[1:])
    callbacks.on_train_begin()
    logs = None
    for k, epoch in enumerate(range(initial_epoch, initial_epoch + epochs)):
        callbacks.on_epoch_begin(epoch)
        callbacks.on_train_batch_begin(0)
        order = None
        if shuffle_seed is not None:
            order = epoch_order(X.shape[0], shuffle_seed, first_order_epoch + k)
        logs = trainer.train_epoch(X, y, sample_weight, order)
        callbacks.on_train_batch_end(steps - 1, dict(logs))
        if validation is not None:
            val_logs = trainer.evaluate(*validation)
            logs.update({f"val_{name}": value for name, value in val_logs.items()})
        not_finite = [name for name, value in logs.items() if not math.isfinite(value)]
        if not_finite:
            raise TrainingDivergedError(
                f"{', '.join(not_finite)} became {logs[not_finite[0]]} in epoch "
                f"{epoch + 1}"
            )
        callbacks.on_epoch_end(epoch, logs)
        for name, value in logs.items():
            history.setdefault(name, []).append(value)
        if model.stop_training:
            break
    model.optimizer.finalize_variable_values(model.trainable_weights)
    callbacks.on_train_end(logs=logs)
    return history
