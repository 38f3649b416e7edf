"""Every override of scikeras' ``KerasClassifier``, and why: the seam to scikeras.

scikeras 0.13 is its last release (its author declared it unmaintained in 2025),
and :class:`~skimdb.IMDBNet` overrides some of its private hooks. This is the one
module of skimdb that imports scikeras: the day scikeras breaks or is replaced,
this file changes and ``IMDBNet`` does not. ``pyproject.toml`` bounds its version.

What IMDBNet relies on scikeras for: ``fit``/``partial_fit``'s flow (validate,
build the network once, encode the target, train), the target encoder
(``classes_``, labels of any type, probabilities back in ``classes_`` order) and
``predict``/``predict_proba``. The hooks it fills in, named as scikeras calls
them: ``_build_keras_model`` (``IMDBNet._build_network``), ``_fit_keras_model``
(``IMDBNet._train``) and ``_predict_raw`` (``IMDBNet._raw_outputs``).
"""

import numbers

import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import ClassifierTags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

__all__ = ["KerasClassifierCompat"]


class KerasClassifierCompat(KerasClassifier):
    """scikeras' ``KerasClassifier`` made to follow scikit-learn's conventions.

    Subclasses define ``__init__`` with their parameters (scikeras' ``__init__``
    is not called: it registers every keyword as a parameter; scikit-learn's rule
    is the signature of ``__init__``, which clone, get_params and set_params rely
    on), and the hooks ``_build_network()``, ``_train(X, y, sample_weight,
    warm_start, epochs, initial_epoch)`` and ``_raw_outputs(X)``.
    """

    # scikeras reads these attributes; subclasses do not expose them as parameters.
    model = None
    build_fn = None
    metrics = None
    run_eagerly = False
    validation_batch_size = None

    _get_param_names = classmethod(BaseEstimator._get_param_names.__func__)
    set_params = BaseEstimator.set_params
    __repr__ = BaseEstimator.__repr__
    # scikeras' score re-validates y alone, bypassing the feature-count check that
    # scikit-learn's accuracy-through-predict gets from predict.
    score = ClassifierMixin.score

    #: Attributes rebuilt when needed and never pickled or saved.
    _transient_attributes = ()

    def fit(self, X, y, sample_weight=None):
        # scikeras multiplies sample_weight by the class weights in place, which
        # changed the caller's array and compounded on refits: pass it a copy.
        sample_weight = _own_copy(sample_weight)
        if not (self.warm_start and self.initialized_):
            return super().fit(X, y, sample_weight=sample_weight)
        # A warm start: scikeras' fit sets classes_ to None, then keeps the
        # network and its target encoder without re-initialising, which left
        # classes_ None for good. Keep them, and, as MLPClassifier does, accept
        # only the classes the network was built for.
        classes = self.classes_
        _check_warm_start_classes(y, classes)
        try:
            return super().fit(X, y, sample_weight=sample_weight)
        finally:
            self.classes_ = classes

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        if classes is not None and len(np.unique(classes)) != len(classes):
            raise ValueError(  # before scikeras sets classes_ to them
                f"classes holds a label twice ({len(classes)} labels, "
                f"{len(np.unique(classes))} distinct: {np.unique(classes).tolist()}); "
                "pass each label once."
            )
        if classes is not None and getattr(self, "model_", None) is not None:
            # scikeras would set classes_ to them over a network built for others
            known = np.asarray(self.classes_)
            if not np.array_equal(np.unique(classes), np.sort(known)):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()} differs from the classes "
                    f"{known.tolist()} this network was built for; pass classes= on "
                    "the first partial_fit only (or the same ones), or call fit to "
                    "start a new network."
                )
            classes = known
        if self.class_weight == "balanced":
            # scikeras would balance each chunk on its own counts, not the data's
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: each "
                "chunk would be balanced on its own label counts. Compute the "
                "weights over all the data with "
                "sklearn.utils.class_weight.compute_class_weight and pass them as "
                "a dict."
            )
        return super().partial_fit(
            X, y, classes=classes, sample_weight=_own_copy(sample_weight)
        )

    def __sklearn_tags__(self):
        # scikeras defines only the old _more_tags, and puts BaseEstimator before
        # ClassifierMixin in the MRO, so is_classifier() was False: set them here.
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=True)
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
            self._check_labels(y, getattr(self, "classes_", None))
            _, y = super()._validate_data(y=y, reset=reset, y_numeric=y_numeric)
        X = self._as_network_input(X)
        if reset:
            self.X_dtype_ = X.dtype
            self.X_shape_ = X.shape
        return X, y

    def _build_keras_model(self):
        return self._build_network()

    def _fit_keras_model(
        self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
    ):
        # Keras' Model.fit is replaced by the subclass' own loop. scikeras also
        # seeded Python's, numpy's and TensorFlow's global generators around fit;
        # subclasses draw every seed from random_state alone.
        self._train(X, y, sample_weight, warm_start, epochs, initial_epoch)

    def _predict_raw(self, X, **kwargs):
        check_is_fitted(self)
        X, _ = self._validate_data(X)
        return self._raw_outputs(X)

    def predict_proba(self, X):
        # scikeras' label encoder squeezes one sample's probabilities to shape (k,)
        return np.reshape(super().predict_proba(X), (-1, len(self.classes_)))

    def __getstate__(self):
        state = super().__getstate__()
        for name in self._transient_attributes:
            state.pop(name, None)
        return state

    def _restore_fitted(self, classes, n_features_in, feature_names_in=None):
        """Set scikeras' fitted attributes (label encoder, feature encoder, output
        counts, callbacks) for ``classes`` and ``n_features_in`` features without
        building a network, as a loaded model needs before ``model_`` is set."""
        import scipy.sparse as sp

        classes = np.asarray(classes)
        dummy_X = sp.csr_matrix((len(classes), n_features_in), dtype=np.float32)
        self.classes_ = None
        X, y = self._validate_data(dummy_X, classes, reset=True)
        if feature_names_in is not None:
            self.feature_names_in_ = np.asarray(feature_names_in, dtype=object)
        self.target_encoder_ = self.target_encoder.fit(y)
        vars(self).update(**self.target_encoder_.get_metadata())
        self.feature_encoder_ = self.feature_encoder.fit(X)
        self._initialize_callbacks()
        self._random_state = self.random_state


def _check_warm_start_classes(y, classes):
    """MLPClassifier's rule for a warm start: ``y`` holds exactly ``classes``."""
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    present = np.unique(y)
    if set(present.tolist()) != set(np.asarray(classes).tolist()):
        raise ValueError(
            "warm_start=True continues the network built for the classes "
            f"{np.asarray(classes).tolist()}, but y holds the classes "
            f"{present.tolist()}; a warm start needs y with the same classes as "
            "the previous fit. Set warm_start=False to build a new network for "
            "these classes."
        )


def _own_copy(sample_weight):
    """A float copy of a ``sample_weight`` array (a number is never changed in
    place, so it passes as it is)."""
    if sample_weight is None or isinstance(sample_weight, numbers.Number):
        return sample_weight
    return np.array(sample_weight, dtype=float)
