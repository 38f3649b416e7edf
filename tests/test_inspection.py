"""skimdb.inspection: the effect of each word on a prediction, exact and checked."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from skimdb import IMDBNet, MultiHotVectorizer, NBLogCountRatio, ReviewEncoder
from skimdb.inspection import explain_predictions, top_words

NUM_WORDS = 40
POSITIVE, NEGATIVE = 7, 9  # the planted words


def _planted(n=300, seed=0):
    """Reviews of random filler words (ids 10..39) holding one planted word:
    POSITIVE in the positive reviews, NEGATIVE in the negative ones."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    X = []
    for label in y:
        words = list(rng.randint(10, NUM_WORDS, rng.randint(3, 9)))
        words.insert(rng.randint(len(words) + 1), POSITIVE if label else NEGATIVE)
        X.append([1, *words])
    return X, y


@pytest.fixture(scope="module")
def planted_net():
    X, y = _planted()
    pipe = Pipeline(
        [
            ("vec", MultiHotVectorizer(num_words=NUM_WORDS)),
            ("clf", IMDBNet(epochs=20, batch_size=32, random_state=0)),
        ]
    ).fit(X, y)
    return pipe, X, y


def _brute_force(pipe, k, review, column, cls):
    """p(review) - p(review without ``column``) for class index ``cls``, computed
    one row at a time through the pipeline after step ``k``."""
    row = pipe[:k].transform([review]).toarray()
    tail = pipe[k:]
    without = row.copy()
    without[0, column] = 0
    return tail.predict_proba(row)[0, cls] - tail.predict_proba(without)[0, cls]


def test_the_planted_words_have_the_strongest_effects(planted_net):
    pipe, X, _ = planted_net
    review = [1, 12, POSITIVE, 30, 17]
    (explanation,) = explain_predictions(pipe, [review])
    assert explanation.label == 1
    assert explanation.proba == pytest.approx(pipe.predict_proba([review])[0, 1])
    assert explanation.columns[0] == POSITIVE
    # far ahead of the filler words, which say nothing about the label
    assert explanation.effects[0] > 2 * abs(explanation.effects[1]) > 0
    assert explanation.toward(1)[0][0] == explanation.features[0]
    negative, positive = top_words(pipe, X, n=3)
    assert (negative.label, positive.label) == (0, 1)
    assert negative.columns[0] == NEGATIVE
    assert positive.columns[0] == POSITIVE
    assert positive.counts[0] == sum(POSITIVE in r for r in X)
    assert np.all(np.diff(positive.effects) <= 0) and np.all(positive.effects > 0)


def test_effects_are_the_exact_leave_one_out_differences(planted_net):
    pipe, X, _ = planted_net
    reviews = [X[0], X[1], [1, 12, 12, 30], [5]]
    explanations = explain_predictions(pipe, reviews)
    proba = pipe.predict_proba(reviews)
    for review, explanation, p in zip(reviews, explanations, proba, strict=True):
        cls = int(np.argmax(p))
        assert explanation.label == pipe.classes_[cls]
        np.testing.assert_allclose(explanation.probas, p, rtol=1e-6)
        # one effect per distinct word, strongest first
        assert sorted(explanation.columns) == sorted(set(review))
        assert np.all(np.diff(np.abs(explanation.effects)) <= 0)
        for column, effect in zip(
            explanation.columns, explanation.effects, strict=True
        ):
            expected = _brute_force(pipe, 1, review, column, cls)
            assert effect == pytest.approx(expected, abs=1e-6)


def test_chunking_never_changes_the_effects(planted_net):
    pipe, X, _ = planted_net
    reviews = X[:40]
    whole = explain_predictions(pipe, reviews)
    for chunk_size in (1, 7, 50):
        chunked = explain_predictions(pipe, reviews, chunk_size=chunk_size)
        for a, b in zip(whole, chunked, strict=True):
            np.testing.assert_array_equal(a.columns, b.columns)
            np.testing.assert_allclose(a.effects, b.effects, atol=1e-6)
    by_chunks = top_words(pipe, X, n=5, chunk_size=3)
    for a, b in zip(top_words(pipe, X, n=5), by_chunks, strict=True):
        np.testing.assert_array_equal(a.columns, b.columns)
        np.testing.assert_allclose(a.effects, b.effects, atol=1e-6)


def test_a_review_without_features_has_no_effects():
    X, y = _planted(60)
    pipe = Pipeline(
        [
            ("vec", MultiHotVectorizer(num_words=NUM_WORDS, handle_unknown="ignore")),
            ("clf", LogisticRegression()),
        ]
    ).fit(X, y)
    empty, unknown, planted = explain_predictions(pipe, [[], [NUM_WORDS + 5], [7]])
    for explanation in (empty, unknown):
        assert explanation.features.size == explanation.effects.size == 0
        assert explanation.toward() == explanation.away() == []
    assert planted.columns.tolist() == [POSITIVE]


def test_ngrams_and_nb_weighting_as_in_the_best_preset():
    X, y = _planted(200)
    pipe = Pipeline(
        [
            ("vec", MultiHotVectorizer(num_words=NUM_WORDS, ngram_range=(1, 2))),
            ("nb", NBLogCountRatio()),
            ("clf", LogisticRegression()),
        ]
    ).fit(X, y)
    review = X[0]
    (explanation,) = explain_predictions(pipe, [review])
    names = pipe[:1].get_feature_names_out()
    n_bigrams = len(set(zip(review, review[1:], strict=False)))
    assert len(explanation.columns) == len(set(review)) + n_bigrams
    assert (explanation.columns >= NUM_WORDS).sum() == n_bigrams
    np.testing.assert_array_equal(explanation.features, names[explanation.columns])
    cls = list(pipe.classes_).index(explanation.label)
    for column, effect in zip(explanation.columns, explanation.effects, strict=True):
        assert effect == pytest.approx(_brute_force(pipe, 1, review, column, cls))


def test_multiclass_effects_are_on_the_predicted_class():
    rng = np.random.RandomState(1)
    planted = {"low": 5, "mid": 6, "high": 7}
    y = rng.choice(list(planted), 300)
    X = [[1, planted[label], *rng.randint(10, NUM_WORDS, 5)] for label in y]
    pipe = Pipeline(
        [
            ("vec", MultiHotVectorizer(num_words=NUM_WORDS)),
            ("clf", LogisticRegression()),
        ]
    ).fit(X, y)
    reviews = [[1, 6, 12, 20], [1, 7, 30], [1, 5, 6, 33]]
    explanations = explain_predictions(pipe, reviews)
    assert [e.label for e in explanations[:2]] == ["mid", "high"]
    assert [e.columns[0] for e in explanations[:2]] == [6, 7]
    for review, explanation in zip(reviews, explanations, strict=True):
        assert explanation.probas.shape == (3,)
        cls = list(pipe.classes_).index(explanation.label)
        assert explanation.proba == explanation.probas.max()
        for column, effect in zip(
            explanation.columns, explanation.effects, strict=True
        ):
            assert effect == pytest.approx(_brute_force(pipe, 1, review, column, cls))
    top = top_words(pipe, X, n=2, min_count=10)
    assert [t.label for t in top] == list(pipe.classes_)
    assert [t.columns[0] for t in top] == [planted[t.label] for t in top]


def test_raw_text_through_a_review_encoder_and_string_labels():
    words = {"the": 1, "film": 2, "wonderful": 3, "dreadful": 4, "plot": 5}
    texts = ["The film was wonderful", "A dreadful film", "wonderful plot"] * 10
    texts += ["dreadful, dreadful plot", "the plot"] * 5
    y = (["pos", "neg", "pos"] * 10) + (["neg", "neg"] * 5)
    pipe = Pipeline(
        [
            ("enc", ReviewEncoder(word_index=words)),
            ("vec", MultiHotVectorizer(num_words=10)),
            ("clf", LogisticRegression()),
        ]
    ).fit(texts, y)
    names = ["pad", "start", "oov", "?", *words, "-"]  # ids 0..9
    (good, bad) = explain_predictions(
        pipe, ["What a wonderful film!", "Dreadful."], feature_names=names
    )
    assert (good.label, good.features[0]) == ("pos", "wonderful")
    assert (bad.label, bad.features[0]) == ("neg", "dreadful")
    assert good.toward()[0] == (good.features[0], good.effects[0])


def test_feature_names_come_from_the_pipeline_or_the_column_number(planted_net):
    pipe, X, _ = planted_net
    (explanation,) = explain_predictions(pipe, [X[0]])
    names = pipe[:1].get_feature_names_out()
    np.testing.assert_array_equal(explanation.features, names[explanation.columns])
    # a step that cannot name its columns: the column numbers instead
    unnamed = Pipeline(
        [("ids", FunctionTransformer(lambda reviews: reviews)), *pipe.steps]
    )
    (explanation,) = explain_predictions(unnamed, [X[0]])
    assert explanation.features.tolist() == [str(c) for c in explanation.columns]


def test_bad_input_names_the_parameter(planted_net):
    pipe, X, y = planted_net
    with pytest.raises(TypeError, match="estimator must be a fitted scikit-learn"):
        explain_predictions(pipe[-1], X)
    no_vectorizer = Pipeline([("clf", LogisticRegression())]).fit([[0], [1]], [0, 1])
    with pytest.raises(ValueError, match="estimator holds no MultiHotVectorizer"):
        top_words(no_vectorizer, [[0]])
    unfitted = Pipeline(
        [("vec", MultiHotVectorizer(num_words=NUM_WORDS)), ("clf", IMDBNet())]
    )
    with pytest.raises(NotFittedError, match="estimator is not fitted"):
        explain_predictions(unfitted, X)
    svm = Pipeline(
        [("vec", MultiHotVectorizer(num_words=NUM_WORDS)), ("clf", LinearSVC())]
    ).fit(X, y)
    with pytest.raises(TypeError, match="classifier with predict_proba"):
        explain_predictions(svm, X)
    with pytest.raises(ValueError, match="ends with its MultiHotVectorizer"):
        explain_predictions(pipe[:1], X)
    with pytest.raises(ValueError, match="X holds no reviews"):
        explain_predictions(pipe, [])
    with pytest.raises(ValueError, match="X holds no reviews"):
        top_words(pipe, np.empty(0, dtype=object))
    with pytest.raises(TypeError, match=r"Wrap a single review in a list"):
        explain_predictions(pipe, "a great film")
    with pytest.raises(ValueError, match="'n' parameter of top_words"):
        top_words(pipe, X, n=0)
    with pytest.raises(ValueError, match="'min_count' parameter of top_words"):
        top_words(pipe, X, min_count=0)
    with pytest.raises(ValueError, match="'chunk_size' parameter"):
        explain_predictions(pipe, X, chunk_size=0)
    with pytest.raises(ValueError, match=r"feature_names must hold one name per"):
        explain_predictions(pipe, X, feature_names=["a", "b"])
    (explanation,) = explain_predictions(pipe, [X[0]])
    with pytest.raises(ValueError, match="n must be an int >= 0 or None"):
        explanation.toward(-1)


def test_min_count_leaves_out_rare_words(planted_net):
    pipe, X, _ = planted_net
    rare = [[1, 11, 12, 13, 14, 15, 16, 17, 18, 19] * 1, X[0], X[1]]
    for top in top_words(pipe, rare, n=50, min_count=2):
        assert np.all(top.counts >= 2)
    everything = top_words(pipe, rare, n=50, min_count=1)
    assert sum(t.columns.size for t in everything) > sum(
        t.columns.size for t in top_words(pipe, rare, n=50, min_count=2)
    )


@pytest.fixture(scope="module")
def real_notebook_net(real_imdb):
    """The notebook's network fitted on 10,000 of the real training reviews."""
    from skimdb import make_pipeline

    (X_train, y_train), (X_test, y_test) = real_imdb
    pipe = make_pipeline("notebook", random_state=0).fit(
        X_train[:10000], y_train[:10000]
    )
    return pipe, X_test


def _imdb_names(data_home):
    from skimdb.datasets import get_word_index

    reverse = {
        rank + 3: word for word, rank in get_word_index(data_home=data_home).items()
    }
    return np.array([reverse.get(i, "<special>") for i in range(10000)], dtype=object)


def test_a_positive_reviews_strongest_words_are_positive(
    real_data_home, real_notebook_net
):
    from skimdb.datasets import encode_review

    pipe, _ = real_notebook_net
    text = (
        "A wonderful film, one of the best I have seen this year. The acting is "
        "excellent, the story is great and I love the music."
    )
    review = encode_review(text, num_words=10000, data_home=real_data_home)
    names = _imdb_names(real_data_home)
    (explanation,) = explain_predictions(pipe, [review], feature_names=names)
    assert explanation.label == 1
    positive = {"wonderful", "excellent", "great", "best", "love"}
    strongest = [word for word, _ in explanation.toward(3)]
    assert set(strongest) <= positive, explanation.toward(5)


def test_top_words_of_real_test_reviews(real_data_home, real_notebook_net):
    pipe, X_test = real_notebook_net
    names = _imdb_names(real_data_home)
    negative, positive = top_words(
        pipe, X_test[:2000], n=20, min_count=20, feature_names=names
    )
    assert {"excellent", "great", "perfect", "wonderful", "best"} & set(
        positive.features
    )
    assert {"worst", "awful", "waste", "boring", "bad"} & set(negative.features)
    assert not set(positive.features) & set(negative.features)


def test_the_best_presets_ngrams_on_planted_data():
    from skimdb import make_pipeline

    X, y = _planted(300, seed=2)
    pipe = make_pipeline("best", random_state=0)
    pipe.set_params(clf__epochs=30)  # a small data set needs more passes
    pipe.fit(X, y)
    review = [1, 12, POSITIVE, 30, 17, 12]
    (explanation,) = explain_predictions(pipe, [review])
    assert explanation.label == 1
    assert explanation.columns[0] == POSITIVE
    names = pipe[:1].get_feature_names_out()
    np.testing.assert_array_equal(explanation.features, names[explanation.columns])
    assert (explanation.columns >= pipe[0].num_words_).any()  # n-grams among them
    for column, effect in zip(explanation.columns, explanation.effects, strict=True):
        assert effect == pytest.approx(
            _brute_force(pipe, 1, review, column, 1), abs=1e-6
        )
    # the planted word's evidence is shared with the n-grams holding it: each
    # of them alone is removed, the others stay
    vec = pipe[0]

    def holds(column, word):
        if column < vec.num_words_:
            return column == word
        return word in vec.vocabulary_[column - vec.num_words_]

    negative, positive = top_words(pipe, X, n=3)
    assert all(holds(column, NEGATIVE) for column in negative.columns)
    assert all(holds(column, POSITIVE) for column in positive.columns)
