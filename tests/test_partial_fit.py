"""IMDBNet.partial_fit: one pass per call, the optimizer's state kept between calls."""

import numpy as np
import pytest

from skimdb import IMDBNet, MultiHotVectorizer


@pytest.fixture(scope="module")
def real_small(real_imdb):
    """The first 3,000 real training reviews and 2,000 test reviews, multi-hot."""
    (x_train, y_train), (x_test, y_test) = real_imdb
    vec = MultiHotVectorizer(num_words=10000).fit(x_train[:1])
    return (
        vec.transform(x_train[:3000]),
        y_train[:3000],
        vec.transform(x_test[:2000]),
        y_test[:2000],
    )


def test_two_partial_fits_train_as_two_epochs_of_fit(real_small):
    X, y, _, _ = real_small
    fitted = IMDBNet(epochs=2, random_state=0).fit(X, y)
    partial = IMDBNet(epochs=7, random_state=0)  # epochs plays no part
    partial.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    weights = zip(
        fitted.model_.get_weights(), partial.model_.get_weights(), strict=True
    )
    for a, b in weights:
        np.testing.assert_array_equal(a, b)
    # the optimizer's moments carried over, not only the weights
    steps = int(partial.model_.optimizer.iterations.numpy())
    assert steps == 2 * int(np.ceil(3000 / 512))
    assert partial.history_["loss"] == pytest.approx(fitted.history_["loss"])


def test_partial_fit_over_chunks_learns_the_real_reviews(real_small):
    X, y, X_test, y_test = real_small
    net = IMDBNet(random_state=0)
    for _ in range(3):
        for start in range(0, 3000, 1000):
            net.partial_fit(X[start : start + 1000], y[start : start + 1000],
                            classes=[0, 1])  # fmt: skip
    assert len(net.history_["loss"]) == 9  # one entry a call
    assert net.history_["loss"][-1] < net.history_["loss"][0]
    assert net.score(X_test, y_test) > 0.8
    # the same 9 passes in one pass each: the batches never cross the chunks
    assert int(net.model_.optimizer.iterations.numpy()) == 9 * 2


def test_partial_fit_takes_the_classes_a_first_chunk_lacks(real_small):
    X, y, _, _ = real_small
    neg = np.flatnonzero(y == 0)[:200]
    net = IMDBNet(random_state=0).partial_fit(X[neg], y[neg], classes=[0, 1])
    np.testing.assert_array_equal(net.classes_, [0, 1])
    assert net.predict_proba(X[:3]).shape == (3, 2)
    net.partial_fit(X[:500], y[:500], classes=[1, 0])  # the same labels: fine
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] differs.*built for"):
        net.partial_fit(X[:500], y[:500], classes=[0, 1, 2])
    np.testing.assert_array_equal(net.classes_, [0, 1])


def test_partial_fit_refuses_balanced_class_weight(real_small):
    X, y, _, _ = real_small
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        IMDBNet(class_weight="balanced").partial_fit(X[:100], y[:100])
    weights = {0: 1.0, 1: 2.0}  # computed over all the data: accepted
    IMDBNet(class_weight=weights, random_state=0).partial_fit(X[:100], y[:100])
