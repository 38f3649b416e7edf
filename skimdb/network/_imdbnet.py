"""IMDBNet: the IMDB dense network as a scikit-learn classifier."""

import functools
import math

import keras
import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _num_samples, check_is_fitted

from skimdb.network._core import keras_loss_name, network_targets
from skimdb.network._layers import SparseDense
from skimdb.network._numpy_training import (
    NumpyEpochTrainer,
    numpy_outputs,
    numpy_step_unsupported,
)
from skimdb.network._params import (
    PARAMETER_CONSTRAINTS,
    check_saved_network,
    read_saved_state,
)
from skimdb.network._scikeras_compat import KerasClassifierCompat
from skimdb.network._training import (
    EpochTrainer,
    TrainingDivergedError,
    fit_model,
    predict_chunks,
)

__all__ = ["IMDBNet"]


class IMDBNet(KerasClassifierCompat):
    """The dense network of the classic IMDB example, as a scikit-learn classifier.

    With the defaults this is the network of *Deep Learning with Python*, chapter 4:
    ``Dense(16, relu) -> Dense(16, relu) -> Dense(1, sigmoid)``, trained with
    rmsprop on binary cross-entropy for 4 epochs in batches of 512. Every choice is
    a hyperparameter, so ``GridSearchCV`` can search over it. With more than two
    classes (IMDB's star ratings, say) the output layer is ``Dense(k, softmax)``
    trained on sparse categorical cross-entropy. Input is a sparse
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
        The training loss. ``"binary_crossentropy"`` is cross-entropy: binary for
        two classes, sparse categorical for more. ``"mse"`` (alias
        ``"mean_squared_error"``) is the notebook's experiment: on the 0/1 target,
        or on the one-hot targets of more classes.
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
        as one call (NumPy, or a TensorFlow graph), so batch hooks are called
        once per epoch (as with ``fit(steps_per_execution=...)``); epoch hooks
        as usual.
    warm_start : bool, default=False
        Whether ``fit`` continues training the current network (and its
        optimizer's state) rather than building a new one. As with
        ``MLPClassifier``, ``y`` must then hold the same classes as before, and
        the parameters that shape the network (``units``, ``hidden_layers``,
        ``activation``, ``dropout``, ``l2``, ``loss``) must be as they were;
        otherwise ``fit`` raises a ``ValueError`` and the network is unchanged.
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
    classes_ : ndarray of shape (n_classes,)
        The class labels; ``predict_proba``'s columns are in this order.
    n_classes_ : int
        Number of classes.
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

    Three classes or more get a softmax output:

    >>> y3 = X[:, :3].argmax(axis=1) + (X[:, :3].sum(axis=1) == 0)
    >>> net3 = IMDBNet(units=8, epochs=5, batch_size=32, random_state=0).fit(X, y3)
    >>> net3.classes_, net3.predict_proba(X[:1]).shape
    (array([0, 1, 2]), (1, 3))
    """

    _parameter_constraints: dict = {
        **PARAMETER_CONSTRAINTS,
        "optimizer": [str, keras.optimizers.Optimizer],
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
            Class labels, two or more: ints, bools or strings such as
            ``"neg"``/``"pos"``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : IMDBNet
            The fitted classifier.

        Raises
        ------
        ValueError
            When training diverges (a loss that is not finite): the estimator is
            then left unfitted, never with a network that predicts NaN.
        """
        self._check_params(X)
        if self.warm_start:
            self._check_same_network("warm_start=True")
        return super().fit(X, y, sample_weight=sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train the network one pass over ``(X, y)``, building it on the first call.

        Each call is exactly one epoch over the chunk it is given, whatever the
        ``epochs`` parameter: ``batch_size`` steps through its rows, shuffled
        (when ``shuffle=True``) in an order drawn from ``random_state`` and the
        number of passes made so far. The optimizer's state (its moments and
        step count) and the weights carry over from call to call, and from a
        previous :meth:`fit`, so two calls on the same data train exactly as
        ``fit`` with ``epochs=2`` does, and calls over the chunks of a corpus
        train as one epoch over it in batches that do not cross chunks.
        ``history_`` gains one entry per call.

        As with :meth:`sklearn.neural_network.MLPClassifier.partial_fit`, pass
        every label in ``classes`` on the first call when a chunk may lack some;
        later calls may leave it out (or repeat the same labels).
        ``class_weight="balanced"`` is refused here: pass the weights computed
        over all the data as a dict.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data: one chunk.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class label; needed on the first call only, if ``y`` lacks some.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : IMDBNet
            The classifier, trained one pass further.

        Examples
        --------
        >>> import numpy as np
        >>> from skimdb import IMDBNet
        >>> rng = np.random.RandomState(0)
        >>> X = (rng.rand(200, 30) < 0.2).astype("float32")
        >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
        >>> net = IMDBNet(units=8, batch_size=32, random_state=0)
        >>> for start in range(0, 200, 50):  # four chunks of 50 rows
        ...     net = net.partial_fit(X[start:start + 50], y[start:start + 50],
        ...                           classes=[0, 1])
        >>> len(net.history_["loss"]), int(net.model_.optimizer.iterations.numpy())
        (4, 8)
        """
        self._check_params(X)
        self._check_same_network("partial_fit")
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    # --- the network --------------------------------------------------------------

    def _build_network(self):
        # kernels 0..h-1, output h, shuffle h+1, dropouts after: a fixed layout,
        # so adding dropout leaves the other seeds as they were
        h = self.hidden_layers
        seeds = _seeds(_seed_entropy(self.random_state), 2 * h + 2)
        self._shuffle_seed = int(seeds[h + 1])
        regularizer = keras.regularizers.L2(self.l2) if self.l2 else None
        inputs = keras.Input(shape=(self.n_features_in_,), sparse=True, name="reviews")
        x = inputs
        for i in range(self.hidden_layers):
            dense = SparseDense if i == 0 else keras.layers.Dense
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
        binary = self.n_classes_ == 2
        outputs = (SparseDense if self.hidden_layers == 0 else keras.layers.Dense)(
            1 if binary else self.n_classes_,
            activation="sigmoid" if binary else "softmax",
            kernel_initializer=keras.initializers.GlorotUniform(seed=int(seeds[h])),
            kernel_regularizer=regularizer,
            name="positive" if binary else "classes",
        )(x)
        model = keras.Model(inputs, outputs, name="imdbnet")
        self._network_params = self._architecture()
        model.compile(
            optimizer=self._make_optimizer(),
            loss=keras_loss_name(self.loss, self.n_classes_),
            metrics=[_accuracy_metric(self.loss, binary)],
        )
        return model

    #: The parameters the built network embodies; a warm start keeps the network.
    _ARCHITECTURE = ("units", "hidden_layers", "activation", "dropout", "l2", "loss")

    def _architecture(self):
        return {name: getattr(self, name) for name in self._ARCHITECTURE}

    def _check_same_network(self, how):
        """A warm start or partial_fit continues ``model_`` as built: refuse it when
        a parameter that shaped the network has changed since (the network would
        go on, silently, with the old value, and be saved under the new one)."""
        built = getattr(self, "_network_params", None)
        if not self.initialized_ or built is None:
            return
        changed = [
            name for name, value in built.items() if getattr(self, name) != value
        ]
        if changed:
            name = changed[0]
            raise ValueError(
                f"{how} continues the network built with {name}={built[name]!r}, "
                f"but {name} is now {getattr(self, name)!r}. Set it back, or fit "
                "with warm_start=False to build a new network."
            )

    def _make_optimizer(self):
        kind, config = _optimizer_spec(self.optimizer)
        config = dict(config)
        if self.learning_rate is not None:
            config["learning_rate"] = self.learning_rate
        return kind.from_config(config)  # a fresh copy, never shared

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
            ("optimizer", _optimizer_spec),
        ):
            try:
                lookup(getattr(self, name))
            except ValueError as exc:
                raise ValueError(
                    f"The '{name}' parameter of IMDBNet is {getattr(self, name)!r}, "
                    f"which Keras does not know: {exc}"
                ) from None

    # --- the hooks scikeras calls (see _scikeras_compat) ---------------------------

    #: Rebuilt when needed, never pickled or saved: the trainer holds a traced
    #: tf.function of the current network.
    _transient_attributes = ("_trainer",)

    #: Train and predict through the NumPy core where it covers the network (see
    #: ``_numpy_core_applies``); False: always through TensorFlow.
    _numpy_step = True

    @staticmethod
    def _check_labels(y, classes=None):
        _check_labels(y, classes)

    @staticmethod
    def _as_network_input(X):
        return _as_canonical_csr(X)

    def _train(self, X, y, sample_weight, warm_start, epochs, initial_epoch):
        y = network_targets(y, self.n_classes_, self.loss)
        if sample_weight is None:
            sample_weight = np.ones(X.shape[0], dtype=np.float32)
        sample_weight = np.asarray(sample_weight, dtype=np.float32)
        validation = None
        if self.validation_split:
            split = _training_split(X.shape[0], self.validation_split)
            validation = X[split:], y[split:], sample_weight[split:]
            X, y, sample_weight = X[:split], y[:split], sample_weight[:split]
        continuing = warm_start and hasattr(self, "history_")
        if not continuing:
            self.history_ = {}
        kind = NumpyEpochTrainer if self._numpy_core_applies() else EpochTrainer
        trainer = getattr(self, "_trainer", None)
        if (
            type(trainer) is not kind  # an option set on model_ since may change it
            or trainer.model is not self.model_
            or trainer.batch_size != self.batch_size
            or trainer.target_width != y.shape[1]
        ):
            trainer = self._trainer = kind(
                self.model_, self.batch_size, target_width=y.shape[1]
            )
        before = _snapshot(self.model_) if continuing else None
        try:
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
        except TrainingDivergedError as exc:
            if before is not None:  # the network as it was before this call
                _restore(self.model_, before)
            else:  # never a fitted network that predicts NaN
                for name in ("model_", "history_", "_trainer"):
                    self.__dict__.pop(name, None)
            raise ValueError(
                f"IMDBNet's training diverged: {exc}. Lower learning_rate (it is "
                f"{self.learning_rate!r}; None is the optimizer's default), or scale "
                "the input features. "
                + (
                    "The network is left as it was before this call."
                    if before is not None
                    else "The estimator is left unfitted."
                )
            ) from None
        for key, values in history.items():
            self.history_.setdefault(key, []).extend(values)

    def _numpy_core_applies(self):
        """Whether the NumPy core (``_core``) trains and predicts with
        ``model_``, or TensorFlow does (the traced epoch graph, eager calls):
        the one place that chooses. The core wherever it computes what Keras
        does (and ``_numpy_step`` allows): 7 to 10 times faster."""
        return self._numpy_step and numpy_step_unsupported(self.model_) is None

    def _raw_outputs(self, X):
        if self._numpy_core_applies():
            return numpy_outputs(self.model_, X)  # no TensorFlow call: 10x faster
        return predict_chunks(self.model_, X)

    def predict_proba(self, X):
        """Probabilities of the classes for each review.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The reviews' features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return super().predict_proba(X)

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

    # --- saved state (skimdb.persistence calls these) ----------------------------

    def _get_saved_state(self):
        """The fitted state that :func:`skimdb.persistence.save` stores: JSON
        values, arrays, and the Keras network under ``"model_"``."""
        check_is_fitted(self)
        state = {
            "model_": self.model_,
            "classes_": np.asarray(self.classes_),
            "n_features_in_": int(self.n_features_in_),
            "X_dtype_": np.dtype(self.X_dtype_).name,
            "history_": {k: [float(v) for v in vs] for k, vs in self.history_.items()},
            "_shuffle_seed": int(self._shuffle_seed),
            # the forward pass's inputs, to predict without TensorFlow
            "weights_": [np.asarray(w) for w in self.model_.get_weights()],
        }
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in_"] = [str(n) for n in self.feature_names_in_]
        return state

    @classmethod
    def _from_saved_state(cls, params, state):
        """An IMDBNet fitted as ``state`` describes (from :meth:`_get_saved_state`,
        as :func:`skimdb.persistence.load` hands it: arrays and the ``.keras``
        file not read yet). The parameters are checked first, then the arrays'
        shapes, their values, and the network's configuration before Keras
        builds it."""
        state = read_saved_state(params, state)  # as load(network="numpy") does
        net = cls(**params)
        net._validate_params()
        classes = np.asarray(state["classes_"])
        n_features = state["n_features_in_"]
        model = state["model_"].load(
            functools.partial(check_saved_network, params=params, state=state)
        )
        outputs = 1 if len(classes) == 2 else len(classes)
        shapes = (tuple(model.inputs[0].shape[1:]), tuple(model.outputs[0].shape[1:]))
        if shapes != ((n_features,), (outputs,)):
            raise ValueError(
                f"the saved network maps {shapes[0]} to {shapes[1]}, but the model "
                f"has {n_features} features and {len(classes)} classes"
            )
        net._restore_fitted(classes, n_features, state.get("feature_names_in_"))
        net.model_ = model
        net._network_params = net._architecture()
        net.X_dtype_ = np.dtype(state["X_dtype_"])
        net.X_shape_ = (len(classes), n_features)
        history = state["history_"]
        net.history_ = {str(k): [float(v) for v in vs] for k, vs in history.items()}
        net._shuffle_seed = int(state["_shuffle_seed"])
        weights = state.get("weights_")
        if weights is not None and not all(
            np.array_equal(saved, loaded)
            for saved, loaded in zip(weights, model.get_weights(), strict=False)
        ):
            raise ValueError("weights_ differ from the saved network's weights")
        return net


# Its public home: pickles, reprs and skimdb.persistence name it there.
IMDBNet.__module__ = "skimdb.network"


def _optimizer_spec(optimizer):
    """The class and configuration of ``optimizer`` (a name or an instance)."""
    if isinstance(optimizer, str):
        return _named_optimizer_spec(optimizer)
    return type(optimizer), optimizer.get_config()


@functools.lru_cache(maxsize=32)
def _named_optimizer_spec(name):
    # each optimizer instance creates TensorFlow variables (about 1 ms each): a
    # name is looked up once per process, not twice per fit
    optimizer = keras.optimizers.get(name)
    return type(optimizer), optimizer.get_config()


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


def _check_labels(y, classes=None):
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
    if len(present if classes is None else classes) < 2:
        raise ValueError(
            f"IMDBNet needs at least two classes in y, got only one class: "
            f"{present[0]!r}. Pass samples of two or more classes (or classes= to "
            "partial_fit)."
        )


def _accuracy_metric(loss, binary):
    if binary:
        return keras.metrics.BinaryAccuracy(name="accuracy")
    if loss == "binary_crossentropy":
        return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    return keras.metrics.CategoricalAccuracy(name="accuracy")


def _snapshot(model):
    """The values of ``model``'s weights and of its optimizer's variables."""
    variables = list(model.weights) + list(model.optimizer.variables)
    return [(v, np.array(v.numpy())) for v in variables]


def _restore(model, snapshot):
    for variable, value in snapshot:
        variable.assign(value)


def _as_canonical_csr(X):
    """``X`` as CSR float32 with sorted, unique indices; no copy if it already is."""
    X = sp.csr_matrix(X) if not sp.issparse(X) else X.tocsr()
    X = X.astype(np.float32, copy=False)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X
