"""Generate tests/data/format_v1 with the pre-refactor persistence (a8ee23d).

Run from the repository root at that commit: ``python tests/data/format_v1/
generate.py``. Importing it (pytest's doctest collection does) writes nothing.
"""

import json

from sklearn.pipeline import Pipeline

from skimdb import IMDBNet, MultiHotVectorizer, NBLogCountRatio, ReviewEncoder
from skimdb.persistence import save


def main():
    words = {
        w: i + 1
        for i, w in enumerate("the a good bad film plot great awful acting fun".split())
    }
    texts = ["a good film", "a bad plot", "great acting fun", "awful film the plot"] * 4
    labels = [1, 0, 1, 0] * 4
    pipe = Pipeline(
        [
            ("enc", ReviewEncoder(word_index=words, num_words=16)),
            ("vec", MultiHotVectorizer(num_words=16, ngram_range=(1, 2))),
            ("clf", IMDBNet(units=4, hidden_layers=1, epochs=2, random_state=0)),
        ]
    ).fit(texts, labels)
    save(pipe, "tests/data/format_v1/pipeline")
    vec = MultiHotVectorizer(num_words=16).fit(pipe[0].transform(texts))
    nb = Pipeline([("vec", vec), ("nb", NBLogCountRatio())]).fit(
        pipe[0].transform(texts), labels
    )
    save(nb, "tests/data/format_v1/nb")
    json.dump(
        {
            "texts": texts,
            "proba": pipe.predict_proba(texts).tolist(),
            "nb": nb.transform(pipe[0].transform(texts)).toarray().tolist()
            if hasattr(nb.transform(pipe[0].transform(texts)), "toarray")
            else nb.transform(pipe[0].transform(texts)).tolist(),
        },
        open("tests/data/format_v1/expected.json", "w"),
    )


if __name__ == "__main__":
    main()
