"""skimdb.plotting: the Displays draw what they are given, and never show."""

import sys

import matplotlib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skimdb import IMDBNet, MultiHotVectorizer
from skimdb.plotting import (
    HistoryDisplay,
    ProbabilityViolinDisplay,
    SearchResultsDisplay,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HISTORY = {
    "loss": [0.5, 0.3, 0.2, 0.1],
    "accuracy": [0.8, 0.9, 0.95, 0.97],
    "val_loss": [0.4, 0.35, 0.38, 0.45],
    "val_accuracy": [0.85, 0.87, 0.86, 0.85],
}


@pytest.fixture(autouse=True)
def _no_show(monkeypatch):
    """Fail if anything calls plt.show(); close every figure afterwards."""

    def show(*args, **kwargs):
        raise AssertionError("library code called plt.show()")

    monkeypatch.setattr(plt, "show", show)
    yield
    plt.close("all")


def test_history_draws_each_curve_with_its_values():
    display = HistoryDisplay.from_history(HISTORY)
    assert len(display.axes_) == 2
    assert display.figure_ is display.axes_[0].figure
    for key, values in HISTORY.items():
        x, y = display.lines_[key].get_data()
        np.testing.assert_array_equal(x, [1, 2, 3, 4])
        np.testing.assert_array_equal(y, values)
    loss_ax, acc_ax = display.axes_
    assert display.lines_["loss"].axes is loss_ax
    assert display.lines_["val_accuracy"].axes is acc_ax
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == [
        "Training",
        "Validation",
    ]


def test_history_without_validation_and_on_given_axes():
    _, axes = plt.subplots(1, 2)
    history = {"loss": HISTORY["loss"], "accuracy": HISTORY["accuracy"]}
    display = HistoryDisplay.from_history(history, axes=axes)
    assert list(display.axes_) == list(axes)
    assert sorted(display.lines_) == ["accuracy", "loss"]
    assert axes[0].get_title() == "Training loss"
    one = HistoryDisplay.from_history(HISTORY, metrics=["loss"])
    assert sorted(one.lines_) == ["loss", "val_loss"]


def test_history_of_arrays_as_read_back_from_a_csv():
    arrays = {key: np.asarray(values) for key, values in HISTORY.items()}
    display = HistoryDisplay.from_history(arrays)
    assert sorted(display.lines_) == sorted(HISTORY)
    assert display.axes_[0].get_title() == "Training and validation loss"
    with pytest.raises(ValueError, match="non-empty 'loss'"):
        HistoryDisplay.from_history({"loss": np.array([])})


def test_history_errors():
    with pytest.raises(ValueError, match="non-empty 'loss'"):
        HistoryDisplay.from_history({"accuracy": [0.5]})
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="axes holds 1 axes but 2 metrics"):
        HistoryDisplay.from_history(HISTORY, axes=[ax])
    with pytest.raises(ValueError, match=r"metrics \['acuracy'\] are not in history"):
        HistoryDisplay.from_history(HISTORY, metrics=("loss", "acuracy"))
    with pytest.raises(TypeError, match=r"such as \('loss',\)"):
        HistoryDisplay.from_history(HISTORY, metrics="loss")
    with pytest.raises(NotFittedError):
        HistoryDisplay.from_estimator(IMDBNet())
    fitted = LogisticRegression().fit([[0], [1]], [0, 1])
    with pytest.raises(TypeError, match="keeps no training history"):
        HistoryDisplay.from_estimator(fitted)


def test_history_from_a_fitted_network_and_pipeline():
    X = [[1, 4], [1, 5], [1, 4, 4], [1, 5, 6]] * 5
    y = [1, 0, 1, 0] * 5
    pipe = Pipeline(
        [
            ("vec", MultiHotVectorizer(num_words=8)),
            ("clf", IMDBNet(epochs=3, validation_split=0.25, random_state=0)),
        ]
    ).fit(X, y)
    display = HistoryDisplay.from_estimator(pipe)
    assert sorted(display.lines_) == sorted(HISTORY)
    np.testing.assert_allclose(
        display.lines_["val_loss"].get_ydata(), pipe[-1].history_["val_loss"]
    )
    assert sorted(HistoryDisplay.from_estimator(pipe[-1]).lines_) == sorted(HISTORY)


def test_violins_per_true_class():
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.6, 0.7, 0.9])
    display = ProbabilityViolinDisplay.from_predictions(y, p, class_names=["n", "p"])
    assert len(display.violins_["bodies"]) == 2
    medians = [seg[:, 1].mean() for seg in display.violins_["cmedians"].get_segments()]
    np.testing.assert_allclose(medians, [0.2, 0.8])
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["n", "p"]
    assert display.figure_ is display.ax_.figure


def test_violins_from_estimator_use_predict_proba():
    rng = np.random.RandomState(0)
    X = rng.randn(100, 3)
    y = (X[:, 0] > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    _, ax = plt.subplots()
    display = ProbabilityViolinDisplay.from_estimator(clf, X, y, ax=ax)
    assert display.ax_ is ax
    expected = ProbabilityViolinDisplay.from_predictions(y, clf.predict_proba(X)[:, 1])
    for a, b in zip(
        display.violins_["cmedians"].get_segments(),
        expected.violins_["cmedians"].get_segments(),
        strict=True,
    ):
        np.testing.assert_allclose(a, b)


def test_violin_errors():
    with pytest.raises(ValueError, match="same length"):
        ProbabilityViolinDisplay.from_predictions([0, 1], [0.5])
    with pytest.raises(ValueError, match="class_names has 3 names"):
        ProbabilityViolinDisplay.from_predictions([0, 1], [0.1, 0.9], class_names="abc")
    with pytest.raises(TypeError, match="classifier with predict_proba"):
        ProbabilityViolinDisplay.from_estimator(MultiHotVectorizer(), [[1]], [0])
    both_columns = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]  # predict_proba's 2 columns
    with pytest.raises(ValueError, match=r"y_proba must be 1-d.*shape \(3, 2\)"):
        ProbabilityViolinDisplay.from_predictions([0, 1, 0], both_columns)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*from -3 to 4"):
        ProbabilityViolinDisplay.from_predictions([0, 1], [-3.0, 4.0])
    with pytest.raises(ValueError, match="y_proba holds NaN"):
        ProbabilityViolinDisplay.from_predictions([0, 1, 1], [0.1, np.nan, 0.7])
    column = ProbabilityViolinDisplay.from_predictions([0, 1], [[0.2], [0.9]])
    assert len(column.violins_["bodies"]) == 2  # a one-column array is its values


def test_search_results_best_first():
    X = np.random.RandomState(0).randn(60, 2)
    y = (X[:, 0] > 0).astype(int)
    search = GridSearchCV(LogisticRegression(), {"C": [1e-4, 1.0, 1e-2]}, cv=3)
    search.fit(X, y)
    display = SearchResultsDisplay.from_estimator(search)
    widths = [bar.get_width() for bar in display.bars_]
    assert widths == sorted(search.cv_results_["mean_test_score"], reverse=True)
    labels = [t.get_text() for t in display.ax_.get_yticklabels()]
    assert labels[0] == f"C={search.best_params_['C']}"
    best = SearchResultsDisplay.from_estimator(search, max_candidates=1)
    assert len(best.bars_) == 1
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_candidates must be an int >= 1"):
            SearchResultsDisplay.from_estimator(search, max_candidates=bad)
    with pytest.raises(TypeError, match="fitted GridSearchCV"):
        SearchResultsDisplay.from_estimator(LogisticRegression())
    with pytest.raises(ValueError, match="lacks mean_test_score"):
        SearchResultsDisplay.from_cv_results({"params": [], "std_test_score": []})


def test_search_results_axis_holds_negative_scores():
    results = {
        "params": [{"clf__units": 16}, {"clf__units": 32}],
        "mean_test_score": [-0.35, -0.30],  # neg_log_loss
        "std_test_score": [0.01, 0.02],
    }
    low, high = SearchResultsDisplay.from_cv_results(results).ax_.get_xlim()
    assert low < -0.36 and -0.30 < high < 0  # every bar whole, left to right
    results["mean_test_score"] = [0.80, 0.97]  # accuracy: the axis stays in [0, 1]
    low, high = SearchResultsDisplay.from_cv_results(results).ax_.get_xlim()
    assert 0 < low < 0.79 and high == 1.0


def test_saved_figure_is_a_readable_png(tmp_path):
    display = HistoryDisplay.from_history(HISTORY)
    display.figure_.savefig(tmp_path / "h.png")
    image = matplotlib.image.imread(tmp_path / "h.png")
    assert image.ndim == 3 and image.std() > 0.05


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"skimdb\[plot\]"):
        HistoryDisplay.from_history(HISTORY)


def test_word_effects_strongest_at_the_top_coloured_by_sign():
    from skimdb.plotting import WordEffectsDisplay

    display = WordEffectsDisplay(
        ["film", "great", "boring", "acting"],
        [0.01, 0.3, -0.2, 0.05],
        label="pos",
        proba=0.87,
    ).plot(max_words=3)
    labels = [label.get_text() for label in display.ax_.get_yticklabels()]
    assert labels == ["great", "boring", "acting"]  # "film" is the weakest
    widths = [bar.get_width() for bar in display.bars_]
    np.testing.assert_allclose(widths, [0.3, -0.2, 0.05])
    great, boring, acting = (bar.get_facecolor() for bar in display.bars_)
    assert great != boring and great != acting  # the colour follows the effect
    assert display.ax_.get_title().startswith("Predicted pos (probability 0.87)")
    assert display.figure_ is display.ax_.figure


def test_word_effects_from_a_fitted_pipeline_on_given_axes():
    from skimdb.inspection import explain_predictions
    from skimdb.plotting import WordEffectsDisplay

    X = [[1, 4], [1, 5], [1, 4, 6], [1, 5, 6]] * 5
    y = ["pos", "neg", "pos", "neg"] * 5
    pipe = Pipeline(
        [("vec", MultiHotVectorizer(num_words=7)), ("clf", LogisticRegression())]
    ).fit(X, y)
    names = ["pad", "start", "oov", "?", "great", "awful", "film"]
    _, ax = plt.subplots()
    display = WordEffectsDisplay.from_estimator(
        pipe, [1, 5, 6], feature_names=names, ax=ax
    )
    assert display.ax_ is ax
    assert display.ax_.get_yticklabels()[0].get_text() == "awful"
    (explanation,) = explain_predictions(pipe, [[1, 5, 6]], feature_names=names)
    again = WordEffectsDisplay.from_explanation(explanation, max_words=None)
    np.testing.assert_allclose(
        [bar.get_width() for bar in again.bars_], explanation.effects
    )
    assert again.ax_.get_title().startswith("Predicted neg")


def test_word_effects_errors():
    from skimdb.plotting import WordEffectsDisplay

    with pytest.raises(ValueError, match="same length"):
        WordEffectsDisplay(["a", "b"], [0.1]).plot()
    with pytest.raises(ValueError, match="max_words must be an int >= 1"):
        WordEffectsDisplay(["a"], [0.1]).plot(max_words=0)
    with pytest.raises(ValueError, match="NaN"):
        WordEffectsDisplay(["a"], [np.nan]).plot()
    with pytest.raises(TypeError, match="lacks features, effects"):
        WordEffectsDisplay.from_explanation({"label": 1})
    with pytest.raises(ValueError, match="one review"):
        WordEffectsDisplay.from_estimator(None, np.zeros((2, 3), dtype=int))
