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

import math

import keras
import numpy as np
import tensorflow as tf

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
        signature = [
            tf.TensorSpec([None], tf.int32),  # row of each stored value
            tf.TensorSpec([None], tf.int32),  # its column
            tf.TensorSpec([None], tf.float32),  # the value
            tf.TensorSpec([None], tf.int64),  # CSR row offsets
            tf.TensorSpec([None, self.target_width], tf.float32),  # labels, one-hot
            tf.TensorSpec([None], tf.float32),  # sample weights
        ]
        # autograph=False: the loop is an explicit tf.while_loop, and converting
        # Keras' layers, loss and optimizer code would double the tracing time.
        self._epoch = tf.function(
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
                correct + _n_correct(y_batch, y_pred),
            )

        zero = tf.constant(0.0)
        _, loss_sum, correct = tf.while_loop(
            lambda i, *_: i < steps,
            step,
            (tf.constant(0, tf.int64), zero, zero),
        )
        n = tf.cast(n, tf.float32)
        return loss_sum / n, correct / n

    def train_epoch(self, X, y, sample_weight, order=None):
        """One epoch over the CSR ``X``, its rows in ``order`` (None: as they are).

        Returns the epoch's mean ``loss`` and ``accuracy``.
        """
        if order is not None:
            X, y, sample_weight = X[order], y[order], sample_weight[order]
        # int32 halves what is copied into TensorFlow; each step casts its slice
        rows = np.repeat(np.arange(X.shape[0], dtype=np.int32), np.diff(X.indptr))
        loss, accuracy = self._epoch(
            rows,
            X.indices.astype(np.int32, copy=False),
            X.data,
            X.indptr.astype(np.int64, copy=False),
            y,
            sample_weight,
        )
        return {"loss": float(loss), "accuracy": float(accuracy)}

    def evaluate(self, chunks, y, sample_weight):
        """``loss`` and ``accuracy`` on ``chunks`` (from :func:`sparse_chunks`), as
        ``Model.evaluate`` reports them."""
        y_pred = _outputs(self.model, chunks)
        loss = self.model.compute_loss(
            y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
        )
        accuracy = float(_n_correct(y, y_pred)) / len(y_pred)
        return {"loss": float(loss), "accuracy": accuracy}


def _n_correct(y, y_pred):
    """How many predictions are right: a probability on the side of 0.5 of its 0/1
    target, or the most probable of several classes (a label, or one-hot)."""
    if y_pred.shape[-1] == 1:
        hits = tf.equal(tf.cast(y_pred > 0.5, y.dtype), y)
    else:
        predicted = tf.argmax(y_pred, axis=-1)
        if y.shape[-1] == 1:
            labels = tf.cast(tf.reshape(y, [-1]), tf.int64)
        else:
            labels = tf.argmax(y, axis=-1)
        hits = tf.equal(predicted, labels)
    return tf.reduce_sum(tf.cast(hits, tf.float32))


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
        validation = (sparse_chunks(validation[0]), *validation[1:])
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
