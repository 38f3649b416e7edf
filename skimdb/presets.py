"""Ready-made pipelines: the notebook's network, and the most accurate recipe."""

from sklearn.pipeline import Pipeline

from skimdb.preprocessing import MultiHotVectorizer, NBLogCountRatio

__all__ = ["PRESETS", "make_pipeline"]

#: Each preset's description, the ``num_words`` to load its data with, and the
#: validation split ``skimdb train`` holds out by default to draw its curves.
PRESETS = {
    "notebook": {
        "description": "Deep Learning with Python, chapter 4: multi-hot top 10,000 "
        "words, Dense(16, relu) x 2, Dense(1, sigmoid), rmsprop, 4 epochs "
        "(about 0.88 test accuracy).",
        "num_words": 10000,
        "validation_split": 0.2,
    },
    "best": {
        "description": "Words, pairs and triples seen in 2+ training reviews (full "
        "vocabulary), Naive-Bayes log-count ratio weighting, a logistic output "
        "layer with L2, rmsprop at 0.003, 6 epochs (about 0.92 test accuracy).",
        "num_words": None,
        "validation_split": 0.0,
    },
}


def make_pipeline(preset="notebook", *, random_state=None):
    """A scikit-learn pipeline from word-id sequences to sentiment labels.

    Parameters
    ----------
    preset : {"notebook", "best"}, default="notebook"
        ``"notebook"``: the classic IMDB example, for data loaded with
        ``load_data(num_words=10000)``. ``"best"``: n-grams up to 3 with Naive-Bayes
        weighting (NBSVM's features) and a regularized logistic network, for data
        loaded with the full vocabulary, ``load_data(num_words=None)``
        (``PRESETS[preset]["num_words"]`` says which). Its settings were chosen on a
        validation split of the training data (the last 20%), never on the test set.
    random_state : int, RandomState instance or None, default=None
        Seeds the network (initial weights and shuffling).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted; its steps are named ``"vec"``, (``"nb"``,) and ``"clf"``.

    Examples
    --------
    >>> from skimdb import make_pipeline
    >>> make_pipeline("notebook", random_state=0)
    Pipeline(steps=[('vec', MultiHotVectorizer()), ('clf', IMDBNet(random_state=0))])
    >>> [name for name, _ in make_pipeline("best").steps]
    ['vec', 'nb', 'clf']
    """
    from skimdb.network import IMDBNet  # imports TensorFlow

    if preset == "notebook":
        return Pipeline(
            [("vec", MultiHotVectorizer()), ("clf", IMDBNet(random_state=random_state))]
        )
    if preset == "best":
        return Pipeline(
            [
                (
                    "vec",
                    MultiHotVectorizer(num_words=None, ngram_range=(1, 3), min_df=2),
                ),
                ("nb", NBLogCountRatio()),
                (
                    "clf",
                    IMDBNet(
                        hidden_layers=0,
                        learning_rate=0.003,
                        l2=1e-6,
                        epochs=6,
                        random_state=random_state,
                    ),
                ),
            ]
        )
    raise ValueError(
        f"preset={preset!r} is not a skimdb preset; choose one of {sorted(PRESETS)}."
    )
