"""The NumPy forward pass gives the Keras network's probabilities."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from skimdb import IMDBNet
from skimdb.network._core import ACTIVATIONS
from skimdb.network._inference import NetworkPredictor


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = sp.random(300, 80, density=0.1, format="csr", random_state=rng)
    X.data[:] = 1.0
    X = X.astype(np.float32)
    score = np.asarray(X[:, :10].sum(axis=1)).ravel()
    return X, (score > 1).astype(int) + (score > 2)


def _predictor(net):
    return NetworkPredictor.from_weights(
        net.model_.get_weights(), net.activation, net.classes_
    )


@pytest.mark.parametrize(
    "params, n_classes",
    [
        (dict(), 2),
        (dict(hidden_layers=0), 2),
        (dict(hidden_layers=3, activation="tanh", units=8), 2),
        (dict(activation="elu", dropout=0.3, l2=1e-3), 3),
        (dict(activation="sigmoid", loss="mse"), 3),
        (dict(activation="selu"), 3),
    ],
)
def test_probabilities_match_the_keras_network(data, params, n_classes):
    X, y = data
    y = y if n_classes == 3 else (y > 0).astype(int)
    net = IMDBNet(epochs=3, batch_size=32, random_state=0, **params).fit(X, y)
    expected = net.predict_proba(X)
    got = _predictor(net).predict_proba(X)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert np.array_equal(_predictor(net).predict(X), net.predict(X))
    np.testing.assert_allclose(  # dense input too
        _predictor(net).predict_proba(X[:5].toarray()), expected[:5], atol=1e-6
    )


def test_every_listed_activation_matches_keras():
    import keras

    x = np.linspace(-30, 30, 603, dtype=np.float32).reshape(-1, 3)
    for name, function in ACTIVATIONS.items():
        theirs = np.asarray(keras.activations.get(name)(x))
        # a copy: an activation may overwrite its input (relu, tanh do)
        np.testing.assert_allclose(function(x.copy()), theirs, rtol=1e-6, atol=1e-6)


def test_refuses_what_it_cannot_compute(data):
    X, _ = data
    w = [np.ones((80, 4), "float32"), np.zeros(4, "float32")]
    out = [np.ones((4, 1), "float32"), np.zeros(1, "float32")]
    with pytest.raises(ValueError, match="activation='mish' has no NumPy forward"):
        NetworkPredictor.from_weights(w + out, "mish", [0, 1])
    with pytest.raises(ValueError, match="4 outputs for 3 classes"):
        NetworkPredictor.from_weights(w, "relu", [0, 1, 2])
    with pytest.raises(ValueError, match="do not follow a layer of width 4"):
        NetworkPredictor.from_weights(w + w, "relu", [0, 1])
    with pytest.raises(ValueError, match="X has 79 features"):
        NetworkPredictor.from_weights(w + out, "relu", [0, 1]).predict(X[:, :79])
    with pytest.raises(NotFittedError):
        NetworkPredictor(w + out, "relu", [0, 1]).predict(X)
    with pytest.raises(TypeError, match="predicts only"):
        NetworkPredictor.from_weights(w + out, "relu", [0, 1]).fit(X, [0, 1] * 150)


def test_imports_no_tensorflow():
    code = (
        "import sys, numpy as np\n"
        "from skimdb.network._inference import NetworkPredictor\n"
        "w = [np.ones((3, 1), 'float32'), np.zeros(1, 'float32')]\n"
        "NetworkPredictor.from_weights(w, 'relu', [0, 1]).predict([[1, 0, 0]])\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
