"""
The IMDB notebook, end to end
=============================

The classic example of *Deep Learning with Python* (chapter 4) with skimdb:
load the reviews, watch the training and validation curves, train the final
network, look at its predicted probabilities and at the reviews it gets
wrong, and classify new text.

It runs on the real IMDB data (25,000 training and 25,000 test reviews); with
the environment variable ``SKIMDB_DOCS_QUICK=1`` it uses the first 2,000 of
each, for a quick documentation build.
"""

# %%
# The data
# --------
# :func:`~skimdb.datasets.load_data` gives exactly the arrays of
# ``keras.datasets.imdb.load_data``: each review a list of word ids, the 10,000
# most frequent words kept.
import os

import numpy as np
from sklearn.pipeline import Pipeline

from skimdb import IMDBNet, MultiHotVectorizer, ReviewEncoder
from skimdb.datasets import decode_review, get_word_index, load_data
from skimdb.plotting import HistoryDisplay, ProbabilityViolinDisplay

QUICK = bool(os.environ.get("SKIMDB_DOCS_QUICK"))
N = 2000 if QUICK else None  # reviews per split

(X_train, y_train), (X_test, y_test) = load_data(num_words=10000)
X_train, y_train, X_test, y_test = X_train[:N], y_train[:N], X_test[:N], y_test[:N]
word_index = get_word_index()
print(f"{len(X_train)} training and {len(X_test)} test reviews")
print(decode_review(X_train[0], word_index=word_index)[:200], "...")

# %%
# Training and validation curves
# ------------------------------
# The notebook holds 10,000 of the 25,000 training reviews out (40%) and trains
# for 20 epochs: the validation loss is lowest after a few epochs, then the
# network overfits. ``validation_split`` does the holding out;
# :class:`~skimdb.plotting.HistoryDisplay` draws the notebook's two figures.
explore = Pipeline(
    [
        ("vec", MultiHotVectorizer(num_words=10000)),
        ("clf", IMDBNet(epochs=20, validation_split=0.4, random_state=0)),
    ]
)
explore.fit(X_train, y_train)
curves = HistoryDisplay.from_estimator(explore)
best = int(np.argmin(explore[-1].history_["val_loss"])) + 1
print(f"lowest validation loss after epoch {best}")

# %%
# The final network
# -----------------
# As in the notebook, train a fresh network for 4 epochs on all the training
# reviews, then score it on the test reviews. A :class:`~skimdb.ReviewEncoder`
# first in the pipeline lets the fitted pipeline take raw text too (word-id
# sequences pass through it unchanged).
pipe = Pipeline(
    [
        ("text", ReviewEncoder(num_words=10000, word_index=word_index)),
        ("vec", MultiHotVectorizer(num_words=10000)),
        ("clf", IMDBNet(epochs=4, random_state=0)),
    ]
)
pipe.fit(X_train, y_train)
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")

# %%
# Predicted probabilities
# -----------------------
# Most test reviews get a probability near 0 or near 1; the mass in between is
# where the network hesitates.
proba = pipe.predict_proba(X_test)[:, 1]
violins = ProbabilityViolinDisplay.from_predictions(
    y_test, proba, class_names=["negative", "positive"]
)

# %%
# The mistakes
# ------------
# The misclassified reviews among the first 100 test reviews, decoded back to
# words (``?`` marks the start, and the words outside the 10,000 kept).
first = slice(0, 100)
wrong = np.flatnonzero((proba[first] >= 0.5) != y_test[first])
print(f"{len(wrong)} mistakes among the first 100 test reviews\n")
for i in wrong[:5]:
    label = "positive" if y_test[i] else "negative"
    text = decode_review(X_test[i], word_index=word_index)
    print(f"review {i}, {label}, P(positive) = {proba[i]:.2f}:\n  {text[:300]} ...\n")

# %%
# New reviews
# -----------
# The fitted pipeline classifies raw English text: it is split into words the
# way the IMDB word index was built, and everything needed is stored in the
# fitted encoder, so this works offline.
reviews = [
    "A wonderful, moving film. The acting is superb.",
    "Two hours of my life I will never get back: boring, predictable and badly acted.",
]
for review, p in zip(reviews, pipe.predict_proba(reviews)[:, 1], strict=True):
    print(f"{p:.3f}  {review}")
