"""IMDBNet with more than two classes, and training that diverges."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils.validation import check_is_fitted

from skimdb import IMDBNet


@pytest.fixture(scope="module")
def three():
    """Multi-hot rows whose class (0, 1, 2) is the block of columns most present."""
    rng = np.random.RandomState(1)
    X = sp.random(
        900, 60, density=0.08, format="csr", random_state=rng, dtype=np.float32
    )
    X.data[:] = 1.0
    blocks = np.column_stack(
        [np.asarray(X[:, 10 * k : 10 * k + 10].sum(axis=1)).ravel() for k in range(3)]
    )
    y = blocks.argmax(axis=1)
    return X, y


def _net(**params):
    return IMDBNet(**{"epochs": 30, "batch_size": 64, "learning_rate": 0.01,
                      "random_state": 0, **params})  # fmt: skip


def test_three_classes_get_a_softmax_layer_and_learn(three):
    X, y = three
    net = _net().fit(X[:600], y[:600])
    output = net.model_.layers[-1]
    assert output.units == 3
    assert output.activation.__name__ == "softmax"
    assert net.model_.loss == "sparse_categorical_crossentropy"
    proba = net.predict_proba(X[600:])
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert net.score(X[600:], y[600:]) > 0.8  # chance is about 1/3
    assert np.array_equal(net.predict(X[600:]), net.classes_[proba.argmax(axis=1)])
    assert set(net.history_) == {"loss", "accuracy"}
    assert net.history_["accuracy"][-1] > 0.8


def test_the_binary_network_is_unchanged():
    X = sp.random(40, 10000, density=0.01, format="csr", dtype=np.float32)
    net = IMDBNet(epochs=1).fit(X, np.arange(40) % 2)
    assert net.model_.count_params() == 160_305
    assert net.model_.layers[-1].units == 1
    assert net.model_.loss == "binary_crossentropy"


def test_string_labels_come_back_in_classes_order(three):
    X, y = three
    names = np.array(["bad", "good", "meh"])[y]
    net = _net().fit(X[:600], names[:600])
    assert net.classes_.tolist() == ["bad", "good", "meh"]
    proba = net.predict_proba(X[600:])
    assert np.array_equal(net.predict(X[600:]), net.classes_[proba.argmax(axis=1)])
    assert net.score(X[600:], names[600:]) > 0.8


def test_mse_trains_on_one_hot_targets(three):
    X, y = three
    net = _net(loss="mse").fit(X[:600], y[:600])
    assert net.model_.loss == "mse"
    assert net.score(X[600:], y[600:]) > 0.7
    assert net.history_["accuracy"][-1] > 0.7


def test_class_weight_and_sample_weight_shift_predictions(three):
    X, y = three
    base = _net(epochs=5).fit(X, y).predict(X)
    favoured = _net(epochs=5, class_weight={0: 1, 1: 1, 2: 20}).fit(X, y).predict(X)
    assert (favoured == 2).sum() > (base == 2).sum()
    weights = np.where(y == 0, 20.0, 1.0)
    weighted = _net(epochs=5).fit(X, y, sample_weight=weights).predict(X)
    assert (weighted == 0).sum() > (base == 0).sum()


def test_warm_start_partial_fit_and_validation_split(three):
    X, y = three
    net = _net(epochs=2, validation_split=0.2, warm_start=True).fit(X, y)
    assert set(net.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    net.fit(X, y)
    assert len(net.history_["loss"]) == 4
    partial = IMDBNet(random_state=0)
    partial.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    partial.partial_fit(X[100:200][y[100:200] != 2], y[100:200][y[100:200] != 2])
    assert partial.predict_proba(X[:3]).shape == (3, 3)
    assert len(partial.history_["loss"]) == 2


def test_early_stopping_on_three_classes(three):
    X, y = three
    net = _net(epochs=200, validation_split=0.3, early_stopping=True).fit(X, y)
    assert len(net.history_["loss"]) < 200


def test_grid_search_over_units_on_three_classes(three):
    X, y = three
    search = GridSearchCV(_net(epochs=5), {"units": [4, 8]}, cv=2).fit(X, y)
    assert set(search.cv_results_["param_units"]) == {4, 8}
    assert search.best_estimator_.predict_proba(X[:2]).shape == (2, 3)


@pytest.mark.parametrize("labels", ["binary", "three"])
def test_diverging_training_raises_and_leaves_the_estimator_unfitted(three, labels):
    X, y = three
    if labels == "binary":
        y = (y == 0).astype(int)
    net = IMDBNet(learning_rate=1e30, optimizer="sgd", random_state=0)
    with pytest.raises(ValueError, match=r"diverged.*epoch 1.*Lower learning_rate"):
        net.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(net)
    with pytest.raises(NotFittedError):
        net.predict(X)


def test_diverging_warm_start_keeps_the_network_it_had(three):
    X, y = three
    net = _net(epochs=2, warm_start=True).fit(X, y)
    before = net.predict_proba(X)
    net.model_.optimizer.learning_rate.assign(1e30)  # warm starts keep the optimizer
    with pytest.raises(ValueError, match="left as it was before this call"):
        net.partial_fit(X, y)
    after = net.predict_proba(X)
    assert np.isfinite(after).all()
    np.testing.assert_array_equal(after, before)


def test_networks_of_one_shape_share_one_traced_epoch(three, monkeypatch):
    from skimdb.network import _training

    # the networks the NumPy step does not cover train in the traced graph
    monkeypatch.setattr(IMDBNet, "_numpy_step", False)
    X, y = three
    first = _net(epochs=2, units=5).fit(X, y)
    graphs = {id(g): g for g in _training._graphs.values()}
    second = _net(epochs=2, units=5).fit(X, y)  # same shape, same seed
    third = _net(epochs=2, units=5, random_state=1, learning_rate=0.02).fit(X, y)
    assert {id(g) for g in _training._graphs.values()} == set(graphs)
    shared = [g for g in graphs.values() if g.model.layers[1].units == 5]
    assert len(shared) == 1 and shared[0].run.experimental_get_tracing_count() == 1
    # the graph trains on a private copy: no user's network is ever its template
    assert all(g.model is not net.model_ for net in (first, second, third)
               for g in graphs.values())  # fmt: skip
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert not np.allclose(first.predict_proba(X), third.predict_proba(X))
    # another shape gets its own graph
    _net(epochs=1, units=6).fit(X, y)
    assert len({id(g) for g in _training._graphs.values()} - set(graphs)) == 1
