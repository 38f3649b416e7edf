"""skimdb: classify IMDB movie reviews with scikit-learn and a Keras dense network."""

__version__ = "0.1.0"
