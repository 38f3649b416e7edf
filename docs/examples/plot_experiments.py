"""
The further experiments, as one grid search
===========================================

The notebook ends with experiments to try: one or three hidden layers instead
of two, more or fewer units, the ``mse`` loss instead of binary
cross-entropy, ``tanh`` instead of ``relu``. Every one of them is an
:class:`~skimdb.IMDBNet` hyperparameter, so scikit-learn's
:class:`~sklearn.model_selection.GridSearchCV` tries them all with
cross-validation. ``skimdb experiments`` runs the same search from the
command line.

On the real data this fits 36 candidates on 3 folds (108 networks, some
minutes); with ``SKIMDB_DOCS_QUICK=1`` a small grid runs on 2,000 reviews.
"""

# %%
import os

import pandas as pd
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skimdb import IMDBNet, MultiHotVectorizer
from skimdb.datasets import load_data
from skimdb.plotting import SearchResultsDisplay

QUICK = bool(os.environ.get("SKIMDB_DOCS_QUICK"))

(X_train, y_train), _ = load_data(num_words=10000)
grid = {
    "clf__hidden_layers": [1, 2, 3],
    "clf__units": [16, 32, 64],
    "clf__loss": ["binary_crossentropy", "mse"],
    "clf__activation": ["relu", "tanh"],
}
cv = 3
if QUICK:
    X_train, y_train = X_train[:2000], y_train[:2000]
    grid = {**grid, "clf__hidden_layers": [1, 2], "clf__units": [16]}
    grid = {**grid, "clf__loss": ["binary_crossentropy"]}
    cv = 2

pipe = Pipeline(
    [
        ("vec", MultiHotVectorizer(num_words=10000)),
        ("clf", IMDBNet(epochs=4, random_state=0)),
    ]
)
search = GridSearchCV(pipe, grid, cv=cv, refit=False).fit(X_train, y_train)

# %%
# The table, best first
# ---------------------
columns = [f"param_{name}" for name in grid] + ["mean_test_score", "std_test_score"]
table = (
    pd.DataFrame(search.cv_results_)
    .sort_values("rank_test_score")[columns]
    .rename(columns=lambda c: c.removeprefix("param_clf__"))
    .reset_index(drop=True)
)
table

# %%
# The same as a plot
# ------------------
display = SearchResultsDisplay.from_estimator(search, max_candidates=15)
