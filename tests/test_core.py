"""The NumPy core's tables and optimizers against Keras' own."""

import numpy as np
import pytest
from sklearn.metrics import log_loss

from skimdb.network._core import (
    ACTIVATIONS,
    DERIVATIVES,
    LOSS_FUNCTIONS,
    LOSS_GRADIENTS,
    mean_loss,
    numpy_optimizer,
    optimizer_unsupported,
    output_probabilities,
)


def test_derivatives_are_the_activations_gradients():
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    z = np.linspace(-6, 6, 60, dtype=np.float32).reshape(-1, 3)
    delta = rng.standard_normal(z.shape).astype(np.float32)
    for name, derivative in DERIVATIVES.items():
        zt = tf.constant(z)
        with tf.GradientTape() as tape:
            tape.watch(zt)
            a = keras.activations.get(name)(zt)
        expected = tape.gradient(a, zt, output_gradients=tf.constant(delta))
        got = delta.copy()
        derivative(ACTIVATIONS[name](z.copy()), got)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=name)


def _targets(name, k, rng, n=16):
    if k == 1:
        return (rng.random((n, 1)) < 0.5).astype(np.float32)
    labels = rng.integers(0, k, n)
    if name.startswith("sparse"):
        return labels[:, None].astype(np.float32)
    return np.eye(k, dtype=np.float32)[labels]


CASES = [
    ("binary_crossentropy", 1),
    ("sparse_categorical_crossentropy", 3),
    ("mse", 1),
    ("mean_squared_error", 4),
]


@pytest.mark.parametrize("name, k", CASES)
def test_losses_are_keras_losses_on_probabilities(name, k):
    import keras

    rng = np.random.default_rng(1)
    y = _targets(name, k, rng)
    p = output_probabilities(rng.normal(0, 3, (len(y), k)).astype(np.float32))
    p[:2] = np.eye(2, k, dtype=np.float32) if k > 1 else [[0.0], [1.0]]  # clipped
    expected = keras.losses.get(name)(y, p)
    np.testing.assert_allclose(
        LOSS_FUNCTIONS[name](y, p), expected, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name, k", CASES)
def test_loss_gradients_are_keras_losses_gradients(name, k):
    # per-sample losses from the logits and the gradient of their weighted sum
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(2)
    y = _targets(name, k, rng)
    logits = rng.normal(0, 3, (len(y), k)).astype(np.float32)
    scale = (rng.random((len(y), 1)) / len(y)).astype(np.float32)
    zt = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        if "crossentropy" not in name:  # mse, through the output's activation
            output = keras.activations.sigmoid if k == 1 else keras.activations.softmax
            losses = keras.losses.get(name)(y, output(zt))
        else:
            losses = keras.losses.get(name)(y, zt, from_logits=True)
        total = tf.reduce_sum(losses * scale[:, 0])
    expected = tape.gradient(total, zt)
    got, grad = LOSS_GRADIENTS[name](logits, output_probabilities(logits), y, scale)
    np.testing.assert_allclose(got, losses, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize(
    "config",
    [
        {"class_name": "RMSprop", "config": {"learning_rate": 0.01}},
        {"class_name": "Adam", "config": {"learning_rate": 0.01}},
        {"class_name": "SGD", "config": {"learning_rate": 0.1}},
        {"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9}},
    ],
    ids=lambda c: f"{c['class_name']}{c['config']}",
)
def test_update_params_is_keras_apply(config):
    # each step from Keras' state: the same weights and slots as its apply
    import keras

    rng = np.random.default_rng(3)
    variables = [
        keras.Variable(rng.standard_normal(shape).astype(np.float32))
        for shape in [(5, 3), (3,)]
    ]
    optimizer = keras.optimizers.get(config)
    optimizer.build(variables)
    assert optimizer_unsupported(optimizer) is None
    ours = numpy_optimizer(optimizer)
    for _ in range(3):
        grads = [rng.standard_normal(v.shape).astype(np.float32) for v in variables]
        weights = [np.array(v.numpy()) for v in variables]
        slots, iterations, lr = ours.read_state()
        ours.update_params(
            weights, [g.copy() for g in grads], slots, iterations + 1, lr
        )
        optimizer.apply(grads, variables)
        for mine, its in zip(weights, variables, strict=True):
            np.testing.assert_allclose(mine, its.numpy(), rtol=1e-6, atol=1e-7)
        theirs, _, _ = ours.read_state()
        for mine, its in zip(slots, theirs, strict=True):
            for a, b in zip(mine, its, strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_another_optimizer_or_a_subclass_is_unsupported():
    import keras

    class MyAdam(keras.optimizers.Adam):
        pass  # may compute otherwise: not taken for Adam

    assert optimizer_unsupported(MyAdam()) == "optimizer MyAdam"
    assert optimizer_unsupported(keras.optimizers.Adagrad()) == "optimizer Adagrad"
    assert "nesterov" in optimizer_unsupported(keras.optimizers.SGD(nesterov=True))


def test_mean_loss_is_the_log_loss_and_mse_of_any_labels():
    rng = np.random.default_rng(4)
    classes = np.array(["bad", "good", "ok"])
    y = classes[rng.integers(0, 3, 50)]
    proba = rng.dirichlet([1, 1, 1], 50)
    assert mean_loss("binary_crossentropy", y, proba, classes) == pytest.approx(
        log_loss(y, proba, labels=classes), rel=1e-6
    )
    onehot = (y[:, None] == classes).astype(float)
    assert mean_loss("mse", y, proba, classes) == pytest.approx(
        np.mean((proba - onehot) ** 2)
    )
    binary = proba[:, :2] / proba[:, :2].sum(axis=1, keepdims=True)
    y2 = np.where(binary[:, 1] > rng.random(50), 1, 0)
    assert mean_loss("binary_crossentropy", y2, binary, [0, 1]) == pytest.approx(
        log_loss(y2, binary), rel=1e-6
    )
    with pytest.raises(ValueError, match="not among the model's classes"):
        mean_loss("mse", ["bad", "awful"], proba[:2], classes)


def test_the_cli_reports_the_cores_loss_for_three_classes():
    from skimdb.cli._reports import network_loss
    from skimdb.network._inference import NetworkPredictor

    rng = np.random.default_rng(5)
    weights = [rng.standard_normal((6, 3)).astype(np.float32), np.zeros(3, "f4")]
    net = NetworkPredictor.from_weights(weights, "relu", [1, 2, 3])
    X = (rng.random((40, 6)) < 0.5).astype(np.float32)
    y = rng.integers(1, 4, 40)
    proba = net.predict_proba(X)
    name, loss = network_loss(net, y, proba)
    assert name == "binary_crossentropy"  # the parameter's name: cross-entropy
    assert loss == pytest.approx(log_loss(y, proba, labels=[1, 2, 3]), rel=1e-5)
