"""Reliability: bad input refused by name, and determinism across processes.

Persistence has its own module, ``test_persistence.py``.

The bad-input battery runs every public entry point (the loaders, the word
index, encoding and decoding, ``MultiHotVectorizer``, ``IMDBNet`` and a
``Pipeline`` of both) over the same kinds of wrong input; each must raise the
documented exception with a message naming the problem, or do what its
documentation says.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import WORD_INDEX, _write_tarball, _write_word_index
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from skimdb import IMDBNet, MultiHotVectorizer
from skimdb.datasets import (
    IMDBDataNotFoundError,
    _sources,
    decode_review,
    encode_review,
    fetch_imdb,
    get_word_index,
    load_data,
)

BOUND_S = 300  # a child process that imports TensorFlow and fits a tiny network

NAN = float("nan")
HUGE = 2**40


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A data home with the tiny synthetic aclImdb; no real data, no download."""
    monkeypatch.setenv("SKIMDB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("SKIMDB_DATA", raising=False)
    monkeypatch.setattr(_sources, "ORIGIN", "http://127.0.0.1:9/")  # refused
    folder = tmp_path / "home"
    folder.mkdir()
    _write_tarball(folder / _sources.TARBALL_NAME)
    _write_word_index(folder / _sources.WORD_INDEX_NAME)
    return folder


# -- the loaders -----------------------------------------------------------------------

LOADER_CASES = {
    # name: (function, arguments, exception, message)
    "load_data num_words=0": (load_data, dict(num_words=0), ValueError, ">= 1"),
    "load_data num_words=-1": (load_data, dict(num_words=-1), ValueError, ">= 1"),
    "load_data num_words NaN": (load_data, dict(num_words=NAN), TypeError, "int"),
    "load_data num_words float": (load_data, dict(num_words=10.0), TypeError, "int"),
    "load_data num_words str": (load_data, dict(num_words="10"), TypeError, "int"),
    "load_data num_words 2**40": (
        load_data,
        dict(num_words=HUGE),
        ValueError,
        r"num_words must be < 2\*\*31",
    ),
    "load_data maxlen=0": (load_data, dict(maxlen=0), ValueError, "maxlen"),
    "load_data maxlen too small": (
        load_data,
        dict(maxlen=2),
        ValueError,
        "no sequence was kept",
    ),
    "load_data seed=-1": (load_data, dict(seed=-1), ValueError, "seed must be in"),
    "load_data seed NaN": (load_data, dict(seed=NAN), TypeError, "seed"),
    "load_data index_from=None": (
        load_data,
        dict(index_from=None),
        TypeError,
        "index_from must be an int",
    ),
    "load_data data_home=3": (load_data, dict(data_home=3), TypeError, "data_home"),
    "load_data positional data_home": (
        load_data,
        dict(args=(10, 0, None, 113, 1, 2, 3, "/x")),
        TypeError,
        "positional",
    ),
    "fetch_imdb subset=dev": (
        fetch_imdb,
        dict(subset="dev"),
        ValueError,
        "subset must be one of",
    ),
    "fetch_imdb return_X_y=1": (
        fetch_imdb,
        dict(return_X_y=1),
        TypeError,
        "return_X_y must be a bool",
    ),
    "get_word_index download_if_missing=0": (
        get_word_index,
        dict(download_if_missing=0),
        TypeError,
        "download_if_missing must be a bool",
    ),
}


@pytest.mark.parametrize("case", LOADER_CASES)
def test_loaders_refuse_bad_arguments_by_name(case, home):
    function, kwargs, error, match = LOADER_CASES[case]
    args = kwargs.pop("args", ())
    if not args:
        kwargs.setdefault("data_home", home)
    with pytest.raises(error, match=match):
        function(*args, **kwargs)


def test_loaders_name_the_missing_files(tmp_path):
    with pytest.raises(IMDBDataNotFoundError, match="imdb.npz.*SKIMDB_DATA"):
        load_data(data_home=tmp_path / "none", download_if_missing=False)
    with pytest.raises(IMDBDataNotFoundError, match="imdb_word_index.json"):
        get_word_index(data_home=tmp_path / "none", download_if_missing=False)


DECODE_CASES = {
    "a str": ("1 4 5", TypeError, "use encode_review"),
    "bytes": (b"\x01\x04", TypeError, "use encode_review"),
    "None": (None, TypeError, "got NoneType"),
    "an int": (5, TypeError, "got int"),
    "a set": ({4, 5}, TypeError, "got set"),
    "a dict": ({4: 5}, TypeError, "got dict"),
    "a generator": ((i for i in [4]), TypeError, "got generator"),
    "negative id": ([4, -1], ValueError, "ids >= 0, got -1"),
    "float ids": ([4.0, 5.0], TypeError, "int word ids, got dtype float64"),
    "NaN id": ([4, NAN], TypeError, "int word ids"),
    "None inside": ([4, None], TypeError, "got NoneType"),
    "str ids": (["4"], TypeError, "int word ids"),
    "deeper nesting": ([[4, 5]], ValueError, "one-dimensional"),
    "ragged nesting": ([[4], [5, 6]], ValueError, "one-dimensional|inhomogeneous"),
    "2-d array": (np.array([[4, 5]]), ValueError, "one-dimensional"),
    "complex": (np.array([4j]), TypeError, "dtype complex128"),
}


@pytest.mark.parametrize("case", DECODE_CASES)
def test_decode_review_refuses_bad_sequences_by_name(case):
    sequence, error, match = DECODE_CASES[case]
    with pytest.raises(error, match=match):
        decode_review(sequence, word_index=WORD_INDEX)


def test_decode_review_handles_edge_ids_as_documented():
    assert decode_review([], word_index=WORD_INDEX) == ""
    assert decode_review([4], word_index=WORD_INDEX) == "the"
    # Ids without a word, however large, are "?" (documented).
    assert decode_review([4, HUGE, 2**70, 10**6], word_index=WORD_INDEX) == (
        "the ? ? ?"
    )
    assert decode_review(np.array([HUGE], dtype=np.uint64), word_index=WORD_INDEX) == (
        "?"
    )


ENCODE_CASES = {
    "ids instead of text": (dict(text=[4, 5]), TypeError, "text must be a str"),
    "tokens instead of text": (dict(text=["the"]), TypeError, "text must be a str"),
    "None": (dict(text=None), TypeError, "text must be a str"),
    "bytes": (dict(text=b"the"), TypeError, "text must be a str"),
    "NaN": (dict(text=NAN), TypeError, "text must be a str"),
    "num_words=0": (dict(num_words=0), ValueError, "num_words must be >= 1"),
    "num_words NaN": (dict(num_words=NAN), TypeError, "num_words must be an int"),
    "num_words 2**40": (dict(num_words=HUGE), ValueError, r"< 2\*\*31"),
    "index_from=-1": (dict(index_from=-1), ValueError, "index_from must be >= 0"),
    "oov_char=1.5": (dict(oov_char=1.5), TypeError, "oov_char"),
    "word_index a list": (dict(word_index=[("the", 1)]), TypeError, "word_index"),
    "word_index rank NaN": (dict(word_index={"a": NAN}), ValueError, "ranks >= 1"),
    "word_index rank 0": (dict(word_index={"a": 0}), ValueError, "ranks >= 1"),
    "word_index int words": (dict(word_index={1: 1}), ValueError, "str words"),
}


@pytest.mark.parametrize("case", ENCODE_CASES)
def test_encode_review_refuses_bad_input_by_name(case):
    kwargs, error, match = ENCODE_CASES[case]
    kwargs = {"text": "the film", "word_index": WORD_INDEX, **kwargs}
    with pytest.raises(error, match=match):
        encode_review(**kwargs)


# -- MultiHotVectorizer ---------------------------------------------------------------

# Beyond tests/test_preprocessing.py's test_bad_input_is_refused_by_name (empty X,
# a str, str reviews and ids, negative, float and None ids, None reviews, nesting,
# 2-d float arrays, sparse matrices, ids beyond int64): each case once.
VECTORIZER_CASES = {
    "None": (None, TypeError, "X must be a sequence of reviews.*NoneType"),
    "bytes review": ([b"\x04"], TypeError, "Review 0 .* a bytes"),
    "NaN id": ([[4, NAN]], TypeError, "element nan of type float"),
    "NaN in an array": ([np.array([4, NAN])], TypeError, "dtype float64"),
    "3-d array": (np.zeros((2, 2, 2), int), TypeError, "must be 2-d.*3-d"),
    "2-d str array": (np.array([["a"]]), TypeError, "integer ids.*<U1"),
    "generator": ((r for r in [[4]]), TypeError, "generator"),
    "complex array review": ([np.array([4j])], TypeError, "complex128"),
    "datetime array review": (
        [np.array(["2020-01-01"], dtype="datetime64[D]")],
        TypeError,
        "datetime64",
    ),
}


@pytest.mark.parametrize("num_words", [10, None])
@pytest.mark.parametrize("case", VECTORIZER_CASES)
def test_vectorizer_refuses_bad_input_by_name(case, num_words):
    X, error, match = VECTORIZER_CASES[case]
    with pytest.raises(error, match=match):
        MultiHotVectorizer(num_words=num_words).fit_transform(X)
    fitted = MultiHotVectorizer(num_words=10).fit([[1]])
    if case != "generator":  # consumed above
        with pytest.raises(error, match=match):
            fitted.transform(X)


# Beyond tests/test_preprocessing.py's test_bad_parameters_are_named (num_words=0,
# a bad handle_unknown, oov_id, dtype class): the wrong types, each case once.
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(num_words=NAN), "'num_words' parameter"),
        (dict(num_words="10"), "'num_words' parameter"),
        (dict(dtype="float16"), "'dtype' parameter"),
    ],
)
def test_vectorizer_refuses_bad_parameters_by_name(params, match):
    with pytest.raises(ValueError, match=match):
        MultiHotVectorizer(**{"num_words": 10, **params}).fit([[1]])


def test_vectorizer_handles_edge_input_as_documented():
    vec = MultiHotVectorizer(num_words=10).fit([[1]])
    # one review; ragged reviews, one of them empty
    assert vec.transform([[4, 4, 5]]).toarray().nonzero()[1].tolist() == [4, 5]
    out = vec.transform([[1], [], [2, 3, 4, 5, 6]])
    assert out.shape == (3, 10) and out.getnnz(axis=1).tolist() == [1, 0, 5]
    # ids >= num_words (2**40 too) go to the oov column 2, as load_data does
    assert vec.transform([[9, 10, HUGE]]).nonzero()[1].tolist() == [2, 9]
    ignore = MultiHotVectorizer(num_words=10, handle_unknown="ignore").fit([[1]])
    assert ignore.transform([[9, HUGE]]).nonzero()[1].tolist() == [9]
    with pytest.raises(ValueError, match="Review 1 holds word id 1099511627776"):
        MultiHotVectorizer(num_words=10, handle_unknown="error").fit_transform(
            [[1], [HUGE]]
        )
    # bools are ints (documented): ids 0 and 1
    assert vec.transform([[True, False]]).nonzero()[1].tolist() == [0, 1]


def test_vectorizer_refuses_to_learn_a_huge_width():
    with pytest.raises(ValueError, match=r"1099511627776.*num_words"):
        MultiHotVectorizer(num_words=None).fit([[1, 2], [HUGE]])


# -- IMDBNet ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = sp.random(40, 12, density=0.3, format="csr", random_state=rng)
    X = X.astype(np.float32)
    X.data[:] = 1
    return X, np.arange(40) % 2


def _net(**params):
    return IMDBNet(**{"epochs": 1, "batch_size": 16, "random_state": 0, **params})


FIT_CASES = {
    # name: (make X from X, make y from y, exception, message)
    "empty X": (lambda X: X[:0], lambda y: y[:0], ValueError, "0 sample"),
    "y with NaN": (
        None,
        lambda y: np.where(y == 0, NAN, 1.0),
        ValueError,
        "y contains NaN",
    ),
    "y of one class": (
        None,
        lambda y: np.zeros_like(y),
        ValueError,
        "at least two classes",
    ),
    "y too short": (
        None,
        lambda y: y[:-1],
        ValueError,
        r"inconsistent numbers.*\[40, 39\]",
    ),
    "y too long": (None, lambda y: np.r_[y, 1], ValueError, "inconsistent numbers"),
    "y 2-d": (None, lambda y: np.c_[y, y], ValueError, "1d array"),
    "y None": (None, lambda y: None, ValueError, "got None"),
    "y continuous": (
        None,
        lambda y: y + 0.5 * (y == 0) - 0.25,
        ValueError,
        "continuous",
    ),
    "X of strings": (
        lambda X: np.array([["a"] * 12] * 40),
        None,
        ValueError,
        "string to float",
    ),
    "X complex": (lambda X: X.toarray() + 1j, None, ValueError, "Complex data"),
    "X with NaN": (
        lambda X: X.multiply(NAN).tocsr(),
        None,
        ValueError,
        "X contains NaN",
    ),
    "X with inf": (lambda X: X.multiply(np.inf).tocsr(), None, ValueError, "infinity"),
    "X 1-d": (lambda X: np.ones(40), None, ValueError, "Expected 2D array"),
    "X 3-d": (lambda X: np.ones((40, 2, 2)), None, ValueError, "dim 3"),
    "X ragged reviews": (
        lambda X: [[1, 2], [3]] * 20,
        None,
        ValueError,
        "inhomogeneous",
    ),
    "X None": (lambda X: None, None, ValueError, "Expected 2D array, got scalar"),
}


@pytest.mark.parametrize("case", FIT_CASES)
def test_net_fit_refuses_bad_data_by_name(case, data):
    make_X, make_y, error, match = FIT_CASES[case]
    X, y = data
    X = make_X(X) if make_X else X
    y = make_y(y) if make_y else y
    with pytest.raises(error, match=match):
        _net().fit(X, y)


# Beyond tests/test_network.py's test_bad_parameters_are_named (units=0, a bad
# loss or optimizer name, out-of-range values): wrong types and NaN, each case once.
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(units=1.5), "'units' parameter"),
        (dict(units="16"), "'units' parameter"),
        (dict(epochs=NAN), "'epochs' parameter"),
        (dict(learning_rate=NAN), "'learning_rate' parameter"),
        (dict(learning_rate=np.inf), "'learning_rate' parameter"),
        (dict(random_state=-1), "'random_state' parameter"),
        (dict(random_state="a"), "'random_state' parameter"),
        (dict(activation=5), "'activation' parameter"),
        (dict(class_weight={5: 1.0}), "classes, .* are not in class_weight"),
    ],
)
def test_net_refuses_bad_parameters_by_name(params, match, data):
    X, y = data
    with pytest.raises(ValueError, match=match):
        _net(**params).fit(X, y)


def test_net_refuses_bad_sample_weight_by_name(data):
    X, y = data
    with pytest.raises(ValueError, match="sample_weight contains NaN"):
        _net().fit(X, y, sample_weight=np.full(40, NAN))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\)"):
        _net().fit(X, y, sample_weight=np.ones(3))


def test_net_before_fit_raises_not_fitted(data):
    X, y = data
    for method in ("predict", "predict_proba"):
        with pytest.raises(NotFittedError, match="IMDBNet instance is not fitted"):
            getattr(_net(), method)(X)
    with pytest.raises(NotFittedError):
        _net().score(X, y)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return _net().fit(X, y)


@pytest.mark.parametrize(
    "make_X, error, match",
    [
        (
            lambda X: X[:, :11],
            ValueError,
            "X has 11 features, but IMDBNet is expecting 12",
        ),
        (lambda X: sp.hstack([X, X]).tocsr(), ValueError, "X has 24 features"),
        (lambda X: sp.coo_matrix((1, 13)), ValueError, "X has 13 features"),
        (lambda X: X.toarray()[:, :5], ValueError, "X has 5 features"),
        (lambda X: X[:0], ValueError, "0 sample"),
        (lambda X: X.multiply(NAN).tocsr(), ValueError, "X contains NaN"),
        (lambda X: np.array([["a"] * 12]), ValueError, "string to float"),
        (lambda X: sp.csr_matrix((1, 12), dtype=np.complex64), ValueError, "Complex"),
        (lambda X: [[1, 2], [3]], ValueError, "inhomogeneous"),
    ],
)
def test_net_predict_refuses_bad_data_by_name(make_X, error, match, data, fitted):
    X, _ = data
    for method in ("predict", "predict_proba"):
        with pytest.raises(error, match=match):
            getattr(fitted, method)(make_X(X))


def test_net_handles_edge_input_as_documented(data, fitted):
    X, y = data
    # one review; any sparse format or an int/bool dense copy of the same values
    assert fitted.predict(X[:1]).shape == (1,)
    expected = fitted.predict_proba(X)
    for same in (X.tocoo(), X.tocsc(), X.toarray().astype(np.int64), X.toarray() > 0):
        np.testing.assert_allclose(fitted.predict_proba(same), expected, rtol=1e-6)
    # labels of any type, two of them
    labels = np.array(["neg", "pos"])[y]
    assert set(_net().fit(X, labels).predict(X)) <= {"neg", "pos"}


def test_net_refuses_a_single_class(data):
    X, y = data
    with pytest.raises(ValueError, match="only one class"):
        _net().fit(X, np.ones_like(y))


# -- the pipeline ------------------------------------------------------------------

REVIEWS = [[1, 2, 3], [4, 5], [6], [7, 8, 9, 9]] * 10
LABELS = np.arange(40) % 2


def _pipe(**clf):
    return Pipeline([("vec", MultiHotVectorizer(num_words=12)), ("clf", _net(**clf))])


PIPELINE_CASES = {
    "empty X": ([], [], ValueError, "X holds 0 reviews"),
    "text instead of ids": (["good film"] * 40, None, TypeError, "encode_review"),
    "one str": ("good film", None, TypeError, "X must be a sequence of reviews"),
    "None inside a review": (REVIEWS[:-1] + [[1, None]], None, TypeError, "Review 39"),
    "negative id": (REVIEWS[:-1] + [[-5]], None, ValueError, "Review 39 .* -5"),
    "float ids": (REVIEWS[:-1] + [[1.5]], None, TypeError, "element 1.5"),
    "sparse matrix": (sp.csr_matrix(np.ones((40, 12))), None, TypeError, "csr_matrix"),
    "y with NaN": (None, np.where(LABELS == 0, NAN, 1), ValueError, "y contains NaN"),
    "y of one class": (None, np.ones(40), ValueError, "at least two classes"),
    "y too short": (None, LABELS[:-1], ValueError, "inconsistent numbers"),
}


@pytest.mark.parametrize("case", PIPELINE_CASES)
def test_pipeline_refuses_bad_input_by_name(case):
    X, y, error, match = PIPELINE_CASES[case]
    with pytest.raises(error, match=match):
        _pipe().fit(REVIEWS if X is None else X, LABELS if y is None else y)


def test_pipeline_bad_parameters_and_predict(tmp_path):
    with pytest.raises(ValueError, match="'units' parameter of IMDBNet"):
        _pipe().set_params(clf__units=0).fit(REVIEWS, LABELS)
    with pytest.raises(ValueError, match="'loss' parameter of IMDBNet"):
        _pipe(loss="nope").fit(REVIEWS, LABELS)
    with pytest.raises(ValueError, match="Invalid parameter 'unit'"):
        _pipe().set_params(clf__unit=3)
    with pytest.raises(NotFittedError, match="Pipeline (instance )?is not fitted"):
        _pipe().predict(REVIEWS)
    pipe = _pipe().fit(REVIEWS, LABELS)
    with pytest.raises(TypeError, match="X must be a sequence of reviews"):
        pipe.predict("good film")
    with pytest.raises(TypeError, match="Review 0 .* a str"):
        pipe.predict(["good film"])
    # as documented: unknown and huge ids count as the oov id, one review is fine
    np.testing.assert_array_equal(
        pipe.predict_proba([[1, 50, HUGE]]), pipe.predict_proba([[1, 2]])
    )


# -- determinism across processes -----------------------------------------------------

_FIT_AND_PREDICT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from sklearn.pipeline import Pipeline
    from skimdb import IMDBNet, MultiHotVectorizer
    rng = np.random.RandomState(0)
    reviews = [rng.randint(3, 60, size=rng.randint(5, 40)).tolist() for _ in range(200)]
    y = [int(sum(w < 20 for w in r) > sum(w >= 40 for w in r)) for r in reviews]
    out = {}
    for seed in (0, 1):
        pipe = Pipeline([("vec", MultiHotVectorizer(num_words=60)),
                         ("clf", IMDBNet(units=8, epochs=3, batch_size=32,
                                         random_state=seed))])
        proba = pipe.fit(reviews, y).predict_proba(reviews)[:, 1]
        out[seed] = proba.astype(np.float32).tobytes().hex()
    print(json.dumps(out))
    """
)


def _children(scripts, tmp_path):
    """Run Python scripts in parallel child processes; return their stdout."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "random"}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for script in scripts
    ]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=BOUND_S)
        assert child.returncode == 0, err.decode()[-3000:]
        outputs.append(out.decode())
    return outputs


@pytest.mark.slow
def test_same_random_state_same_predictions_in_separate_processes(tmp_path):
    first, second = (
        json.loads(out) for out in _children([_FIT_AND_PREDICT] * 2, tmp_path)
    )
    assert first["0"] == second["0"]
    assert first["1"] == second["1"]
    assert first["0"] != first["1"]  # the seed matters
