"""The IMDB dense network as a scikit-learn classifier (scikeras' KerasClassifier)."""

import math
import numbers

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf
from scikeras.wrappers import KerasClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import ClassifierTags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples, check_is_fitted, validate_data

from skimdb._training import EpochTrainer, fit_model, predict_chunks

__all__ = ["IMDBNet"]

_LOSSES = {"binary_crossentropy", "mse", "mean_squared_error"}


class IMDBNet(KerasClassifier):
    """The dense network of the classic IMDB example, as a scikit-learn classifier.

    With the defaults this is the network of *Deep Learning with Python*, chapter 4:
    ``Dense(16, relu) -> Dense(16, relu) -> Dense(1, sigmoid)``, trained with
    rmsprop on binary cross-entropy for 4 epochs in batches of 512. Every choice is
    a hyperparameter, so ``GridSearchCV`` can search over it. Input is a sparse
    (or dense) matrix such as :class:`~skimdb.MultiHotVectorizer` gives; it reaches
    Keras as sparse batches and is never densified as a whole.

    Parameters
    ----------
    units : int, default=16
        Units in each hidden layer.
    hidden_layers : int, default=2
        How many hidden ``Dense`` layers; 0 gives logistic regression.
    activation : str, default="relu"
        Activation of the hidden layers, any name ``keras.activations.get`` knows
        (``"relu"``, ``"tanh"``, ...).
    loss : {"binary_crossentropy", "mse"}, default="binary_crossentropy"
        The training loss. ``"mse"`` (alias ``"mean_squared_error"``) is the
        notebook's experiment.
    optimizer : str or keras.optimizers.Optimizer, default="rmsprop"
        An optimizer name (``"rmsprop"``, ``"adam"``, ``"sgd"``, ...) or instance;
        an instance is copied at each fit, never shared between fits.
    learning_rate : float or None, default=None
        The optimizer's learning rate; ``None`` keeps the optimizer's own default
        (0.001 for rmsprop).
    epochs : int, default=4
        Passes over the training data.
    batch_size : int, default=512
        Reviews per gradient step (predictions go in chunks of 8192 reviews).
    validation_split : float, default=0.0
        Fraction of the training data held out, from its end as in Keras, to report
        ``val_loss`` and ``val_accuracy`` after each epoch in ``history_``.
    dropout : float, default=0.0
        Dropout rate after each hidden layer (seeded from ``random_state``).
    l2 : float, default=0.0
        L2 penalty on every layer's kernel.
    early_stopping : bool, default=False
        Stop when ``val_loss`` has not improved for ``n_iter_no_change`` epochs and
        restore the weights of the best epoch. Needs ``validation_split > 0``.
    n_iter_no_change : int, default=2
        Epochs without improvement that ``early_stopping`` waits for.
    shuffle : bool, default=True
        Whether to shuffle the training data before each epoch.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, as in scikit-learn.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Keras callbacks for training, such as ``EarlyStopping``. Each epoch runs
        as one TensorFlow graph call, so batch hooks are called once per epoch
        (as with ``fit(steps_per_execution=...)``); epoch hooks as usual.
    warm_start : bool, default=False
        Whether ``fit`` continues training the current network rather than
        building a new one.
    random_state : int, numpy.random.RandomState or None, default=None
        Seeds the initial weights and the shuffling. The seeds of each layer's
        initializer and of the shuffle are derived from it; no global random state
        (Python's, numpy's or TensorFlow's) is read or set, so fits in other
        threads do not disturb it. With an int, two fits give identical
        predictions; so do they with a ``RandomState``, which is not advanced:
        each fit draws its seed from a copy of it.
    verbose : int, default=0
        Keras' verbosity: 0 silent, 1 progress bar, 2 one line per epoch.

    Attributes
    ----------
    model_ : keras.Model
        The fitted network.
    history_ : dict of str to list of float
        Per-epoch ``loss`` and ``accuracy``, plus ``val_loss`` and ``val_accuracy``
        when ``validation_split > 0``.
    classes_ : ndarray of shape (2,)
        The two class labels.
    n_features_in_ : int
        Number of input features.

    See Also
    --------
    skimdb.MultiHotVectorizer : Turns word-id sequences into this network's input.
    sklearn.neural_network.MLPClassifier : scikit-learn's own dense network.

    Examples
    --------
    >>> import numpy as np
    >>> from skimdb import IMDBNet
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(200, 30) < 0.2).astype("float32")
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> net = IMDBNet(units=8, epochs=30, batch_size=32, random_state=0).fit(X, y)
    >>> net.model_.count_params()
    329
    >>> net.predict_proba(X[:2]).shape
    (2, 2)
    >>> sorted(net.history_)
    ['accuracy', 'loss']
    """

    _parameter_constraints: dict = {
        "units": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden_layers": [Interval(numbers.Integral, 0, None, closed="left")],
        "activation": [str],
        "loss": [StrOptions(_LOSSES)],
        "optimizer": [str, keras.optimizers.Optimizer],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "validation_split": [Interval(numbers.Real, 0, 1, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "l2": [Interval(numbers.Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        units=16,
        hidden_layers=2,
        activation="relu",
        loss="binary_crossentropy",
        optimizer="rmsprop",
        learning_rate=None,
        epochs=4,
        batch_size=512,
        validation_split=0.0,
        dropout=0.0,
        l2=0.0,
        early_stopping=False,
        n_iter_no_change=2,
        shuffle=True,
        class_weight=None,
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        # scikeras' __init__ is not called: it registers every keyword as a
        # parameter; ours are exactly the ones listed, as scikit-learn expects.
        self.units = units
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.dropout = dropout
        self.l2 = l2
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Build the network and train it on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, such as the output of :class:`~skimdb.MultiHotVectorizer`.
        y : array-like of shape (n_samples,)
            Two class labels: ints, bools or strings such as ``"neg"``/``"pos"``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : IMDBNet
            The fitted classifier.
        """
        self._check_params(X)
        return super().fit(X, y, sample_weight=_own_copy(sample_weight))

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train the current network (building it first if needed) for one epoch.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (2,), default=None
            Both class labels; needed on the first call only if ``y`` lacks one.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : IMDBNet
            The classifier, trained one epoch further.
        """
        self._check_params(X)
        if classes is not None and len(np.unique(classes)) != len(classes):
            raise ValueError(  # before scikeras sets classes_ to them
                f"classes holds a label twice ({len(classes)} labels, "
                f"{len(np.unique(classes))} distinct: {np.unique(classes).tolist()}); "
                "pass each label once."
            )
        return super().partial_fit(
            X, y, classes=classes, sample_weight=_own_copy(sample_weight)
        )

    # --- the network --------------------------------------------------------------

    def _build_keras_model(self):
        # kernels 0..h-1, output h, shuffle h+1, dropouts after: a fixed layout,
        # so adding dropout leaves the other seeds as they were
        h = self.hidden_layers
        seeds = _seeds(_seed_entropy(self.random_state), 2 * h + 2)
        self._shuffle_seed = int(seeds[h + 1])
        regularizer = keras.regularizers.L2(self.l2) if self.l2 else None
        inputs = keras.Input(shape=(self.n_features_in_,), sparse=True, name="reviews")
        x = inputs
        for i in range(self.hidden_layers):
            dense = _SparseDense if i == 0 else keras.layers.Dense
            x = dense(
                self.units,
                activation=self.activation,
                kernel_initializer=keras.initializers.GlorotUniform(seed=int(seeds[i])),
                kernel_regularizer=regularizer,
                name=f"hidden_{i + 1}",
            )(x)
            if self.dropout:
                seed = int(seeds[h + 2 + i])
                x = keras.layers.Dropout(
                    self.dropout, seed=seed, name=f"dropout_{i + 1}"
                )(x)
        outputs = (_SparseDense if self.hidden_layers == 0 else keras.layers.Dense)(
            1,
            activation="sigmoid",
            kernel_initializer=keras.initializers.GlorotUniform(seed=int(seeds[h])),
            kernel_regularizer=regularizer,
            name="positive",
        )(x)
        model = keras.Model(inputs, outputs, name="imdbnet")
        model.compile(
            optimizer=self._make_optimizer(),
            loss=self.loss,
            metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
        )
        return model

    def _make_optimizer(self):
        optimizer = keras.optimizers.get(self.optimizer)
        config = optimizer.get_config()
        if self.learning_rate is not None:
            config["learning_rate"] = self.learning_rate
        return type(optimizer).from_config(config)  # a fresh copy, never shared

    def _check_params(self, X):
        """Check the parameters, and the validation split against ``X``, before
        scikeras rebuilds the network (fit and partial_fit)."""
        self._validate_params()
        self._check_keras_names()
        if self.early_stopping and not self.validation_split:
            raise ValueError(
                "early_stopping=True watches the validation loss: set "
                "validation_split > 0 (for instance 0.1) as well."
            )
        if self.validation_split:
            _training_split(_num_samples(X), self.validation_split)

    def _check_keras_names(self):
        for name, lookup in (
            ("activation", keras.activations.get),
            ("optimizer", keras.optimizers.get),
        ):
            try:
                lookup(getattr(self, name))
            except ValueError as exc:
                raise ValueError(
                    f"The '{name}' parameter of IMDBNet is {getattr(self, name)!r}, "
                    f"which Keras does not know: {exc}"
                ) from None

    # --- scikeras compatibility: every fix for scikeras 0.13 lives below -----------

    # scikeras reads these attributes; IMDBNet does not expose them as parameters.
    model = None
    build_fn = None
    metrics = None
    run_eagerly = False
    validation_batch_size = None

    # scikeras registers any instance attribute as a parameter; scikit-learn's rule
    # is the signature of __init__, which clone, get_params and set_params rely on.
    _get_param_names = classmethod(BaseEstimator._get_param_names.__func__)
    set_params = BaseEstimator.set_params
    __repr__ = BaseEstimator.__repr__
    # scikeras' score re-validates y alone, bypassing the feature-count check that
    # scikit-learn's accuracy-through-predict gets from predict.
    score = ClassifierMixin.score

    def __sklearn_tags__(self):
        # scikeras defines only the old _more_tags, and puts BaseEstimator before
        # ClassifierMixin in the MRO, so is_classifier() was False: set them here.
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=False)
        tags.target_tags.required = True
        tags.input_tags.sparse = True
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        # scikeras copies sparse input into a LIL matrix; keep it CSR float32
        # (no copy when it already is), and validate through scikit-learn so the
        # feature count and feature names are checked as for any estimator.
        sparse = ("csr", "csc", "coo")
        dtypes = (np.float32, np.float64)
        if y is None:
            X = validate_data(self, X, reset=reset, accept_sparse=sparse, dtype=dtypes)
        else:
            X, y = validate_data(
                self, X, y, reset=reset, accept_sparse=sparse, dtype=dtypes
            )
            check_classification_targets(y)
            _check_binary(y, getattr(self, "classes_", None))
            _, y = super()._validate_data(y=y, reset=reset, y_numeric=y_numeric)
        X = _as_canonical_csr(X)
        if reset:
            self.X_dtype_ = X.dtype
            self.X_shape_ = X.shape
        return X, y

    def _fit_keras_model(
        self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
    ):
        # Keras' Model.fit is replaced by skimdb._training, one traced graph per
        # epoch (the default fit takes 2.1 s instead of 4.4 s). scikeras also
        # seeded Python's, numpy's and TensorFlow's global generators around fit;
        # the shuffle here is drawn from random_state alone.
        y = np.asarray(y, dtype=np.float32).reshape(-1, 1)
        if sample_weight is None:
            sample_weight = np.ones(X.shape[0], dtype=np.float32)
        sample_weight = np.asarray(sample_weight, dtype=np.float32)
        validation = None
        if self.validation_split:
            split = _training_split(X.shape[0], self.validation_split)
            validation = X[split:], y[split:], sample_weight[split:]
            X, y, sample_weight = X[:split], y[:split], sample_weight[:split]
        if not warm_start or not hasattr(self, "history_"):
            self.history_ = {}
        trainer = getattr(self, "_trainer", None)
        if (
            trainer is None
            or trainer.model is not self.model_
            or trainer.batch_size != self.batch_size
        ):
            trainer = self._trainer = EpochTrainer(self.model_, self.batch_size)
        history = fit_model(
            trainer,
            X,
            y,
            sample_weight,
            epochs=epochs,
            initial_epoch=initial_epoch,
            # epochs trained before draw new orders
            first_order_epoch=len(self.history_.get("loss", ())),
            shuffle_seed=self._shuffle_seed if self.shuffle else None,
            validation=validation,
            callbacks=self._fit_callbacks + self._early_stopping_callback(),
            verbose=self.verbose,
        )
        for key, values in history.items():
            self.history_.setdefault(key, []).extend(values)

    def __getstate__(self):
        state = super().__getstate__()
        for name in _TRANSIENT_ATTRIBUTES:
            state.pop(name, None)
        return state

    def predict_proba(self, X):
        """Probabilities of the two classes for each review.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The reviews' features.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns in the order of ``classes_``.
        """
        # scikeras' label encoder squeezes one sample's probabilities to shape (2,)
        return np.reshape(super().predict_proba(X), (-1, len(self.classes_)))

    def _early_stopping_callback(self):
        if not self.early_stopping:
            return []
        return [
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=self.n_iter_no_change,
                restore_best_weights=True,
            )
        ]

    def _predict_raw(self, X, **kwargs):
        check_is_fitted(self)
        X, _ = self._validate_data(X)
        return predict_chunks(self.model_, X)


@keras.saving.register_keras_serializable(package="skimdb")
class _SparseDense(keras.layers.Dense):
    """``Dense`` whose sparse-input product is TensorFlow's sparse-dense matmul.

    Keras computes a sparse product through ``embedding_lookup_sparse`` (unique ids,
    gather, segment sums, an ``IndexedSlices`` gradient), about 3x slower per
    training step here than ``tf.sparse.sparse_dense_matmul``, whose gradient for
    the kernel is one more sparse-dense product.
    """

    def call(self, inputs, training=None):
        if not isinstance(inputs, tf.SparseTensor):
            return super().call(inputs, training=training)
        outputs = tf.sparse.sparse_dense_matmul(inputs, self.kernel)
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias)
        return self.activation(outputs) if self.activation is not None else outputs


#: Attributes rebuilt when needed and never saved: the trainer holds a traced
#: tf.function of the current network.
_TRANSIENT_ATTRIBUTES = ("_trainer",)


def _seeds(entropy, n):
    """``n`` independent 31-bit seeds derived from ``entropy`` (int or None)."""
    return np.random.SeedSequence(entropy).generate_state(n) >> 1


def _seed_entropy(random_state):
    """The int (or None) that every seed derives from.

    A ``RandomState`` gives one draw from a copy of it, so it is left as it was and
    the same instance gives the same network (scikeras' rule, whose own draw,
    ``randint(low=1)``, is always 0).
    """
    if isinstance(random_state, np.random.RandomState):
        copy = np.random.RandomState()
        copy.set_state(random_state.get_state())
        return int(copy.randint(np.iinfo(np.int32).max))
    return random_state


def _training_split(n_samples, validation_split):
    """How many of ``n_samples`` train: as Keras, the first
    ``floor(n * (1 - validation_split))``; the rest validate. Neither may be empty."""
    split = int(math.floor(n_samples * (1.0 - validation_split)))
    if not 0 < split < n_samples:
        raise ValueError(
            f"validation_split={validation_split} leaves "
            f"{'no training' if split < 1 else 'no validation'} sample out "
            f"of {n_samples}; "
            f"{'lower' if split < 1 else 'raise'} it, or pass more samples."
        )
    return split


def _own_copy(sample_weight):
    """A float copy of a ``sample_weight`` array: scikeras multiplies it by the class
    weights in place, which changed the caller's array and compounded on refits."""
    if sample_weight is None or isinstance(sample_weight, numbers.Number):
        return sample_weight  # a number is never changed in place
    return np.array(sample_weight, dtype=float)


def _check_binary(y, classes=None):
    present = np.unique(y)
    if classes is not None:
        classes = np.unique(classes)
        unknown = present[~np.isin(present, classes)]
        if unknown.size:
            raise ValueError(
                f"y holds the labels {unknown.tolist()}, which are not among the "
                f"classes {classes.tolist()} (those of classes= or of the first fit); "
                "pass classes= with every label on the first partial_fit."
            )
    n_classes = len(present if classes is None else classes)
    if n_classes < 2:
        raise ValueError(
            f"IMDBNet needs two classes in y, got only one class: {present[0]!r}. "
            "Pass samples of both classes (or classes= to partial_fit)."
        )
    if n_classes > 2:
        raise ValueError(
            f"Only binary classification is supported. IMDBNet got y with {n_classes} "
            "classes; pass labels of two classes (e.g. 0/1 or 'neg'/'pos')."
        )


def _as_canonical_csr(X):
    """``X`` as CSR float32 with sorted, unique indices; no copy if it already is."""
    X = sp.csr_matrix(X) if not sp.issparse(X) else X.tocsr()
    X = X.astype(np.float32, copy=False)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X
