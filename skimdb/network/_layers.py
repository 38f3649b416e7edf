"""The network's sparse first layer."""

import keras
import tensorflow as tf

__all__ = ["SparseDense"]


@keras.saving.register_keras_serializable(package="skimdb", name="_SparseDense")
class SparseDense(keras.layers.Dense):
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
