"""The whole product on the real IMDB data (skipped, with the reason, without it)."""

import re
import runpy
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from skimdb import IMDBNet, MultiHotVectorizer

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "docs" / "examples" / "quickstart.py"


def _readme_python_blocks():
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)


def test_readme_quick_start_is_the_example_script():
    script = QUICKSTART.read_text()
    body = script.split('"""', 2)[2].strip()
    assert body == _readme_python_blocks()[0].strip()


@pytest.mark.slow
def test_quick_start_reaches_the_notebooks_accuracy(
    real_data_home, monkeypatch, capsys
):
    """The README's quick start, run as written: default pipeline, fixed seed."""
    monkeypatch.setenv("SKIMDB_DATA", str(real_data_home))
    runpy.run_path(str(QUICKSTART), run_name="__main__")
    printed = capsys.readouterr().out
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", printed).group(1))
    assert 0.87 <= accuracy <= 0.90


@pytest.fixture(scope="module")
def real_subset(real_imdb):
    (X_train, y_train), _ = real_imdb
    rng = np.random.RandomState(0)
    idx = rng.choice(len(X_train), 3000, replace=False)
    return X_train[idx], y_train[idx]


def _pipe(**clf):
    return Pipeline(
        [("vec", MultiHotVectorizer()), ("clf", IMDBNet(random_state=0, **clf))]
    )


def test_grid_search_over_units_on_real_reviews(real_subset):
    X, y = real_subset
    search = GridSearchCV(
        _pipe(epochs=3, batch_size=128), {"clf__units": [8, 32]}, cv=2
    )
    search.fit(X, y)
    assert search.cv_results_["mean_test_score"].min() > 0.75
    assert search.best_params_["clf__units"] in (8, 32)


def test_cross_val_score_roc_auc_on_real_reviews(real_subset):
    X, y = real_subset
    scores = cross_val_score(
        _pipe(epochs=3, batch_size=128), X, y, cv=3, scoring="roc_auc"
    )
    assert scores.shape == (3,)
    assert scores.min() > 0.85
