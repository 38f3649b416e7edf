"""The NumPy training step against the traced TensorFlow step it replaces."""

import numpy as np
import pytest
import scipy.sparse as sp

from skimdb import IMDBNet
from skimdb.network._numpy_training import NumpyEpochTrainer, numpy_step_unsupported
from skimdb.network._training import EpochTrainer


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = sp.random(
        500, 120, density=0.06, format="csr", random_state=rng, dtype=np.float32
    )
    X.data[:] = 1.0
    y2 = (
        np.asarray(X[:, :5].sum(axis=1)).ravel()
        > np.asarray(X[:, 5:10].sum(axis=1)).ravel()
    ).astype(int)
    y3 = np.asarray(X[:, :3].argmax(axis=1)).ravel()
    w = np.linspace(0.2, 2.0, X.shape[0]).astype(np.float32)
    return X, {2: y2, 3: y3}, w


def _fit(numpy_step, X, y, w, params, monkeypatch):
    monkeypatch.setattr(IMDBNet, "_numpy_step", numpy_step)
    net = IMDBNet(random_state=0, epochs=3, batch_size=64, **params)
    net.fit(X, y, sample_weight=w)
    optimizer = net.model_.optimizer
    state = [np.asarray(v) for v in net.model_.get_weights()]
    state += [np.asarray(v.numpy()) for v in optimizer.variables]
    return net, state


CASES = [
    {},
    {"hidden_layers": 0, "l2": 1e-3},
    {"hidden_layers": 1, "units": 8, "activation": "tanh"},
    {"hidden_layers": 3, "units": 32, "l2": 1e-4},
    {"activation": "sigmoid", "loss": "mse"},
    {"activation": "linear"},
    {"optimizer": "adam"},
    {"optimizer": "sgd", "learning_rate": 0.1},
    {"optimizer": "sgd", "learning_rate": 0.05, "validation_split": 0.2},
]


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("params", CASES, ids=lambda p: str(p) or "default")
def test_numpy_step_matches_the_tensorflow_step(data, params, n_classes, monkeypatch):
    # from the same start, both reach the same weights, optimizer state
    # (iterations, slots) and per-epoch logs, float32 sums in another order apart
    X, ys, w = data
    ours, our_state = _fit(True, X, ys[n_classes], w, params, monkeypatch)
    theirs, their_state = _fit(False, X, ys[n_classes], w, params, monkeypatch)
    assert type(ours._trainer) is NumpyEpochTrainer
    assert type(theirs._trainer) is EpochTrainer
    assert len(our_state) == len(their_state)
    for mine, its in zip(our_state, their_state, strict=True):
        np.testing.assert_allclose(mine, its, rtol=1e-5, atol=1e-6)
    assert sorted(ours.history_) == sorted(theirs.history_)
    for key in ours.history_:
        np.testing.assert_allclose(ours.history_[key], theirs.history_[key], rtol=1e-5)


def test_sgd_with_momentum_matches(data, monkeypatch):
    import keras

    X, ys, w = data
    params = {"optimizer": keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)}
    ours, our_state = _fit(True, X, ys[2], w, params, monkeypatch)
    _, their_state = _fit(False, X, ys[2], w, params, monkeypatch)
    assert type(ours._trainer) is NumpyEpochTrainer
    for mine, its in zip(our_state, their_state, strict=True):
        np.testing.assert_allclose(mine, its, rtol=1e-5, atol=1e-6)


def test_warm_start_continues_the_optimizer_state(data):
    # three epochs at once equal one, then two more with warm_start: the NumPy
    # step reads the Keras variables (weights, iterations, velocities) it wrote
    X, ys, _ = data
    once = IMDBNet(random_state=0, epochs=3, batch_size=64).fit(X, ys[2])
    split = IMDBNet(random_state=0, epochs=1, batch_size=64).fit(X, ys[2])
    split.set_params(warm_start=True, epochs=2).fit(X, ys[2])
    assert int(split.model_.optimizer.iterations.numpy()) == 3 * 8
    for a, b in zip(once.model_.get_weights(), split.model_.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(once.history_["loss"], split.history_["loss"], rtol=1e-6)


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"dropout": 0.2}, "Dropout"),
        ({"activation": "elu"}, "activation"),
        ({"optimizer": "adagrad"}, "optimizer Adagrad"),
    ],
)
def test_other_networks_train_in_the_tensorflow_graph(data, params, reason):
    X, ys, _ = data
    net = IMDBNet(random_state=0, epochs=1, batch_size=64, **params).fit(X, ys[2])
    assert reason in numpy_step_unsupported(net.model_)
    assert type(net._trainer) is EpochTrainer


@pytest.mark.parametrize(
    "optimizer, reason",
    [
        ({"class_name": "RMSprop", "config": {"centered": True}}, "centered"),
        ({"class_name": "Adam", "config": {"clipnorm": 1.0}}, "clipnorm"),
        ({"class_name": "Adam", "config": {"amsgrad": True}}, "amsgrad"),
    ],
)
def test_optimizer_options_the_numpy_step_lacks(data, optimizer, reason):
    import keras

    X, ys, _ = data
    net = IMDBNet(
        random_state=0,
        epochs=1,
        batch_size=64,
        optimizer=keras.optimizers.get(optimizer),
    ).fit(X, ys[2])
    assert reason in numpy_step_unsupported(net.model_)
    assert type(net._trainer) is EpochTrainer


def test_a_learning_rate_schedule_trains_in_the_graph(data):
    import keras

    X, ys, _ = data
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5)
    net = IMDBNet(
        random_state=0,
        epochs=1,
        batch_size=64,
        optimizer=keras.optimizers.RMSprop(learning_rate=schedule),
    ).fit(X, ys[2])
    assert "schedule" in numpy_step_unsupported(net.model_)


def test_the_numpy_step_diverges_like_the_graph(data):
    X, ys, _ = data
    with pytest.raises(ValueError, match="diverged: loss became (nan|inf) in epoch 1"):
        IMDBNet(learning_rate=1e30, epochs=2, batch_size=64).fit(X, ys[2])


def test_the_blas_limit_is_restored_whatever_the_threads_order():
    from threadpoolctl import threadpool_info

    from skimdb.network._core import one_blas_thread

    before = [lib["num_threads"] for lib in threadpool_info()]
    first, second = one_blas_thread(), one_blas_thread()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first out while the second still runs
    second.__exit__(None, None, None)
    assert [lib["num_threads"] for lib in threadpool_info()] == before


def test_an_uncompiled_network_predicts_through_keras(data):
    import keras

    X, ys, _ = data
    net = IMDBNet(random_state=0, epochs=1, batch_size=64).fit(X, ys[2])
    expected = net.predict_proba(X)
    # the same layers and weights, never compiled (a .keras file without a
    # compile config loads so): no optimizer to read
    net.model_ = keras.Model(net.model_.inputs, net.model_.outputs)
    assert numpy_step_unsupported(net.model_) is not None  # no loss, no optimizer
    np.testing.assert_allclose(net.predict_proba(X), expected, rtol=1e-5, atol=1e-6)


def test_a_float64_policy_trains_in_the_graph(data):
    import keras

    X, ys, _ = data
    keras.config.set_dtype_policy("float64")
    try:
        net = IMDBNet(random_state=0, epochs=1, batch_size=64).fit(X, ys[2])
    finally:
        keras.config.set_dtype_policy("float32")
    assert "dtype policy" in numpy_step_unsupported(net.model_)


def test_one_method_chooses_numpy_or_tensorflow_to_train_and_predict(data, monkeypatch):
    import skimdb.network._imdbnet as imdbnet

    X, ys, _ = data
    net = IMDBNet(random_state=0, epochs=1, batch_size=64).fit(X, ys[2])
    assert type(net._trainer) is NumpyEpochTrainer
    expected = net.predict_proba(X)

    def no_numpy(model, X):
        raise AssertionError("predicted through the NumPy core")

    monkeypatch.setattr(imdbnet, "numpy_outputs", no_numpy)
    monkeypatch.setattr(IMDBNet, "_numpy_core_applies", lambda self: False)
    np.testing.assert_allclose(net.predict_proba(X), expected, rtol=1e-5, atol=1e-6)
    net.partial_fit(X, ys[2])  # the NumPy trainer is not reused
    assert type(net._trainer) is EpochTrainer
