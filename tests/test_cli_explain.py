"""skimdb explain and skimdb top-words: the words behind each prediction."""

import io
import re
import sys

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from test_cli import (  # noqa: F401  (_isolated: no real data, cache or download)
    FAST,
    NEGATIVE,
    NEUTRAL,
    NUM_WORDS,
    POSITIVE,
    WORD_INDEX,
    _isolated,
    _run,
    _write_tiny_home,
)

from skimdb.cli._commands import feature_names
from skimdb.inspection import explain_predictions, top_words
from skimdb.persistence import load, save

#: Words of the third class of the multiclass model.
MIDDLING = ["okay", "average", "fine", "mediocre", "passable"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return _write_tiny_home(tmp_path_factory.mktemp("data") / "imdb")


@pytest.fixture(scope="module")
def notebook(home, tmp_path_factory):
    """A model folder saved by ``skimdb train`` (the notebook preset)."""
    output = tmp_path_factory.mktemp("notebook")
    status, _, err = _run(
        "train", "--data-home", home, "-o", output, "--no-plots", *FAST
    )  # fmt: skip
    assert status == 0, err
    return output


@pytest.fixture(scope="module")
def best(tmp_path_factory):
    """A model folder saved by ``skimdb train --preset best`` (n-grams up to 3), on
    1,000 tiny reviews: its few large steps need them to learn (about 10 s)."""
    home = _write_tiny_home(tmp_path_factory.mktemp("data") / "imdb", n_train=1000)
    output = tmp_path_factory.mktemp("best")
    status, _, err = _run(
        "train", "--data-home", home, "-o", output, "--preset", "best",
        "--no-plots", "--verbose", "0",
    )  # fmt: skip
    assert status == 0, err
    return output


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory):
    """A folder holding a three-class pipeline on raw text ("bad", "good", "meh")."""
    from skimdb import IMDBNet, MultiHotVectorizer, ReviewEncoder

    words = NEUTRAL + POSITIVE + NEGATIVE + MIDDLING
    index = {word: rank for rank, word in enumerate(words, 1)}
    rng = np.random.RandomState(0)
    texts, labels = [], []
    for i in range(150):
        label, cue = [("bad", NEGATIVE), ("good", POSITIVE), ("meh", MIDDLING)][i % 3]
        chosen = list(rng.choice(cue, 2)) + list(rng.choice(NEUTRAL, 4))
        rng.shuffle(chosen)
        texts.append(" ".join(chosen))
        labels.append(label)
    pipe = Pipeline(
        [
            ("text", ReviewEncoder(word_index=index)),
            ("vec", MultiHotVectorizer(num_words=len(words) + 4)),
            ("clf", IMDBNet(units=8, epochs=30, batch_size=16, learning_rate=0.01,
                            random_state=0, verbose=0)),
        ]
    ).fit(texts, labels)  # fmt: skip
    folder = tmp_path_factory.mktemp("three") / "model"
    save(pipe, folder)
    return folder


def _blocks(out):
    """``skimdb explain``'s text output: per review (label, probability, toward
    [(word, effect)], away [(word, effect)])."""
    blocks = []
    for block in out.strip().split("\n\n"):
        lines = block.splitlines()
        head = re.fullmatch(r"review \d+: (\S+) \(probability ([0-9.]+)\)", lines[0])
        assert head, lines[0]
        ways, current = {"toward": [], "away": []}, None
        for line in lines[2:]:
            if line.startswith("  toward"):
                current = ways["toward"]
            elif line.startswith("  away from"):
                current = ways["away"]
            else:
                effect, word = line.split(maxsplit=1)
                current.append((word, float(effect)))
        blocks.append((head[1], float(head[2]), ways["toward"], ways["away"]))
    return blocks


# -- explain ---------------------------------------------------------------------------


def test_explain_names_the_words_that_moved_each_prediction(notebook):
    reviews = ["A great and wonderful film, superb acting.", "Boring, dull and awful."]
    status, out, err = _run("explain", notebook, *reviews)
    assert status == 0, err
    (pos, p_pos, toward_pos, away_pos), (neg, p_neg, toward_neg, _) = _blocks(out)
    assert (pos, neg) == ("pos", "neg")
    assert p_pos > 0.5 and p_neg > 0.5  # the probability of the predicted label
    assert toward_pos[0][0] in POSITIVE and toward_neg[0][0] in NEGATIVE
    assert {word for word, _ in toward_pos[:3]} <= set(POSITIVE)
    # each effect is the library's, for the same words
    model = load(notebook)
    first = explain_predictions(model, reviews[:1], feature_names=feature_names(model))
    assert [(w, round(e, 4)) for w, e in first[0].toward(5)] == toward_pos
    assert [(w, round(e, 4)) for w, e in first[0].away(5)] == away_pos
    assert p_pos == round(float(model.predict_proba(reviews[:1])[0, 1]), 4)


def test_explain_words_are_the_encoders_not_generic_names(notebook):
    model = load(notebook)
    names = feature_names(model)
    assert len(names) == NUM_WORDS
    assert names[:3].tolist() == ["<pad>", "<start>", "<oov>"]
    for word, rank in WORD_INDEX.items():
        assert names[rank + 3] == word
    status, out, err = _run("explain", "--n", "50", notebook, "superb film")
    assert status == 0, err
    words = {w for _, _, toward, away in _blocks(out) for w, _ in toward + away}
    assert words and words <= {"superb", "film", "<start>"}
    assert not any(word.startswith("multihotvectorizer") for word in words)


def test_explain_n_bounds_the_words_each_way(notebook):
    review = "great wonderful moving superb brilliant but boring awful plot"
    status, out, _ = _run("explain", "--n", "2", notebook, review)
    assert status == 0
    (_, _, toward, away), = _blocks(out)  # fmt: skip
    assert len(toward) == 2 and 1 <= len(away) <= 2
    assert abs(toward[0][1]) >= abs(toward[1][1])
    status, out, _ = _run("explain", "--n", "0", notebook, review)
    assert status == 2  # --n takes a positive number


def test_options_may_come_between_the_model_and_the_reviews(notebook):
    # argparse alone stops reading TEXT at the first option after MODEL
    _, before, _ = _run("explain", "--n", "2", notebook, "superb film", "dull plot")
    status, out, err = _run("explain", notebook, "superb film", "--n", "2", "dull plot")
    assert (status, out, err) == (0, before, "")
    assert len(_blocks(out)) == 2
    status, _, err = _run("predict", notebook, "--width", "5", "superb film")
    assert status == 0, err
    status, _, err = _run("explain", notebook, "--bogus", "superb film")
    assert status == 2 and "unrecognized arguments: --bogus superb film" in err


def test_explain_tsv_is_the_text_output_row_by_row(notebook):
    reviews = ["superb moving film", "dull plot, bad acting"]
    _, text, _ = _run("explain", notebook, *reviews)
    status, out, err = _run("explain", "--format", "tsv", notebook, *reviews)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split("\t") == [
        "review", "label", "probability", "direction", "word", "effect"
    ]  # fmt: skip
    rows = [line.split("\t") for line in lines[1:]]
    for i, (label, proba, toward, away) in enumerate(_blocks(text), start=1):
        mine = [r for r in rows if r[0] == str(i)]
        assert {(r[1], float(r[2])) for r in mine} == {(label, proba)}
        got = [(r[4], float(r[5])) for r in mine if r[3] == "toward"]
        assert got == toward
        assert [(r[4], float(r[5])) for r in mine if r[3] == "away"] == away


def test_explain_reads_reviews_like_predict(notebook, tmp_path, monkeypatch):
    path = tmp_path / "reviews.txt"
    path.write_text("superb moving acting\n\n   \nthe plot was dull and bad\n")
    status, out, _ = _run("explain", notebook, "--file", path)
    assert status == 0
    assert [block[0] for block in _blocks(out)] == ["pos", "neg"]
    monkeypatch.setattr(sys, "stdin", io.StringIO(path.read_text()))
    assert _run("explain", notebook) == (0, out, "")
    path.write_bytes(b"good \xff film\n")
    status, out, err = _run("explain", notebook, "--file", path)
    assert (status, out) == (1, "")
    assert "not UTF-8" in err and "offset 5" in err


def test_explain_a_best_preset_model_names_its_ngrams(best):
    model = load(best)
    names = feature_names(model)
    vec = model.named_steps["vec"]
    assert len(names) == vec.num_words_ + len(vec.vocabulary_)
    grams = names[vec.num_words_ :]
    assert len(grams) and all(1 < len(gram.split()) <= 3 for gram in grams)
    assert set(" ".join(grams).split()) <= set(WORD_INDEX) | {"<start>", "<oov>"}
    status, out, err = _run(
        "explain", "--n", "10", best, "A great and wonderful film, superb acting."
    )
    assert status == 0, err
    ((label, _, toward, _),) = _blocks(out)
    assert label == "pos"
    assert any(" " in word for word, _ in toward)  # n-grams among the features
    assert set(toward[0][0].split()) & set(POSITIVE)


def test_explain_a_multiclass_model_on_the_predicted_class(three_classes):
    review = "the film was okay and fine"
    status, out, err = _run("explain", "--n", "3", three_classes, review)
    assert status == 0, err
    ((label, proba, toward, _),) = _blocks(out)
    model = load(three_classes)
    assert label == "meh" == model.predict([review])[0]
    assert proba == round(float(model.predict_proba([review]).max()), 4)
    assert {toward[0][0], toward[1][0]} == {"okay", "fine"}
    status, out, _ = _run("predict", three_classes, review)
    assert out.splitlines()[0] == "label\tprobability\treview"
    assert out.splitlines()[1].split("\t")[:2] == ["meh", f"{proba:.4f}"]


def test_explain_a_model_without_a_vectorizer_is_one_line(tmp_path):
    import joblib
    from sklearn.dummy import DummyClassifier

    joblib.dump(DummyClassifier().fit([[0], [1]], [0, 1]), tmp_path / "m.joblib")
    status, out, err = _run("explain", tmp_path / "m.joblib", "x", "--allow-pickle")
    assert (status, out) == (1, "")
    assert err.startswith("skimdb explain: error: estimator must be a fitted")
    assert len(err.splitlines()) == 1


# -- top-words -------------------------------------------------------------------------


def _top(out):
    """``skimdb top-words``' output: {label: [(word, effect, count)]}."""
    tops, current = {}, None
    for line in out.splitlines()[1:]:
        if line.startswith("toward "):
            current = tops.setdefault(line.split()[1].rstrip(":"), [])
        elif line.strip():
            effect, word, _, count, _ = line.split()
            current.append((word, float(effect), int(count)))
    return tops


def test_top_words_over_the_imdb_test_reviews(notebook, home):
    status, out, err = _run(
        "top-words", notebook, "--data-home", home, "--n", "4", "--n-reviews", "30"
    )
    assert status == 0, err
    assert out.splitlines()[0].startswith(
        "mean effect on each class's probability over 30 reviews of the IMDB test set"
    )
    tops = _top(out)
    assert list(tops) == ["neg", "pos"]
    assert {w for w, _, _ in tops["pos"][:3]} <= set(POSITIVE)
    assert {w for w, _, _ in tops["neg"][:3]} <= set(NEGATIVE)
    # the library's figures, on the same 30 reviews
    from skimdb.datasets import load_data

    model = load(notebook)
    _, (X_test, _) = load_data(num_words=NUM_WORDS, data_home=home)
    neg, pos = top_words(model, X_test[:30], n=4, feature_names=feature_names(model))
    expected = [
        (w, round(e, 4), c)
        for w, e, c in zip(pos.features, pos.effects, pos.counts, strict=True)
    ]
    assert tops["pos"] == expected
    assert len(tops["neg"]) == len(neg.features)


def test_top_words_min_count_drops_rare_words(notebook, home):
    args = ("top-words", notebook, "--data-home", home, "--n-reviews", "10")
    _, out, _ = _run(*args, "--min-count", "1", "--n", "100")
    _, rare_out, _ = _run(*args, "--min-count", "4", "--n", "100")
    counts = [c for words in _top(out).values() for _, _, c in words]
    kept = [c for words in _top(rare_out).values() for _, _, c in words]
    assert min(counts) < 4 <= min(kept)


def test_top_words_of_a_multiclass_model_from_a_csv(three_classes, tmp_path):
    path = tmp_path / "reviews.csv"
    rows = ["okay film", "fine movie okay", "great superb", "awful dull"] * 5
    path.write_text("review\n" + "\n".join(rows) + "\n")
    status, out, err = _run(
        "top-words", three_classes, "--csv", path, "--text-column", "review",
        "--min-count", "3", "--n", "2",
    )  # fmt: skip
    assert status == 0, err
    assert f"over 20 reviews of --csv {path}" in out.splitlines()[0]
    tops = _top(out)
    assert list(tops) == ["bad", "good", "meh"]
    assert {w for w, _, _ in tops["meh"]} <= {"okay", "fine"}
    assert tops["good"][0][0] in ("great", "superb")


# -- the real IMDB data ----------------------------------------------------------------

#: Words nobody would call anything but positive.
PRAISE = {
    "excellent", "great", "wonderful", "best", "perfect", "loved", "love",
    "amazing", "brilliant", "beautiful", "superb", "masterpiece", "favorite",
    "enjoyed", "fantastic", "beautifully", "wonderfully", "highly", "gem",
}  # fmt: skip


@pytest.mark.realdata
def test_explain_on_a_model_trained_on_real_imdb(real_data_home, tmp_path):
    output = tmp_path / "model"
    status, _, err = _run(
        "train", "--data-home", real_data_home, "--no-download", "-o", output,
        "--n-train", "5000", "--n-test", "500", "--validation-split", "0",
        "--no-plots",
        "--verbose", "0",
    )  # fmt: skip
    assert status == 0, err
    review = (
        "An excellent film: a wonderful story, beautifully acted, with a superb "
        "score. One of the best movies I have seen in years, I loved it."
    )
    status, out, err = _run("explain", output, review)
    assert status == 0, err
    ((label, proba, toward, away),) = _blocks(out)
    assert label == "pos" and proba > 0.5, out
    strongest = [word for word, _ in toward[:5]]
    assert len(set(strongest) & PRAISE) >= 3, strongest
    assert not set(word for word, _ in away) & PRAISE


@pytest.mark.realdata
def test_explain_on_a_best_preset_model_trained_on_real_imdb(real_data_home, tmp_path):
    output = tmp_path / "best"
    status, _, err = _run(
        "train", "--preset", "best", "--data-home", real_data_home, "--no-download",
        "-o", output, "--n-train", "5000", "--n-test", "200", "--no-plots",
        "--verbose", "0",
    )  # fmt: skip
    assert status == 0, err
    review = (
        "An excellent film: a wonderful story, beautifully acted, with a superb "
        "score. One of the best movies I have seen in years, I loved it."
    )
    status, out, err = _run("explain", output, review)
    assert status == 0, err
    ((label, proba, toward, _),) = _blocks(out)
    assert label == "pos" and proba > 0.5, out
    # words, pairs and triples: most of the strongest hold a word of praise
    praised = [feature for feature, _ in toward if set(feature.split()) & PRAISE]
    assert len(praised) >= 4, out
    assert any(" " in feature for feature, _ in toward), out
