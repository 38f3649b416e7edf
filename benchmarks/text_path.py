"""Raw text to features: skimdb's compiled text path against CountVectorizer.

Issue 17's targets, side by side in one run, printed as rows "measured, required,
met" (exit status 1 if one is not met):

- ``--reviews`` synthetic reviews (default 1,000,000, about 1 GB of text):
  ``ReviewEncoder(num_words=10000)`` fit + transform then ``MultiHotVectorizer``,
  against ``CountVectorizer(binary=True, max_features=10000, dtype=float32)
  .fit_transform``: at least 5x faster;
- IMDB's 50,000 raw reviews: the encoder and vectorizer fitted on the 25,000
  training texts, then both splits transformed, against ``CountVectorizer``'s fit
  plus both transforms: at least 5x faster;
- peak memory growth (``VmHWM`` minus the resident size once the texts are built
  and every module the pipeline uses is imported, each pipeline in its own
  subprocess; the imports' own growth, TensorFlow's for skimdb, printed apart) of
  encode + vectorize + ``IMDBNet`` fit (4 epochs) at most that of
  ``CountVectorizer`` + ``MLPClassifier`` (4 epochs, the same layers) on the same
  texts;
- unchanged results: the learned word index, the ids and the multi-hot matrix equal
  those of today's pure-Python encoder (``tests/_reference_codec.py``) on the
  IMDB training texts and on 20,000 synthetic reviews.

The synthetic corpus: each review is 3 to 11 sentences drawn from IMDB training
reviews of one label (the label drawn too), seeded.

    python benchmarks/text_path.py                      # the full run, ~10 minutes
    python benchmarks/text_path.py --reviews 100000     # while developing
"""

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
NUM_WORDS = 10_000
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>\s*(?:<br\s*/?>\s*)*")


def imdb_texts():
    from skimdb.datasets import fetch_imdb

    train = fetch_imdb(subset="train", text=True, download_if_missing=False)
    test = fetch_imdb(subset="test", text=True, download_if_missing=False)
    return train.data, train.target, test.data


def synthetic_corpus(n_reviews, seed=0):
    """``n_reviews`` reviews of 3-11 sentences from IMDB training reviews of one
    label, and the labels."""
    texts, labels, _ = imdb_texts()
    pools = []
    for label in (0, 1):
        sentences = [
            s.strip()
            for text, y in zip(texts, labels, strict=True)
            if y == label
            for s in _SENTENCE_END.split(text)
            if s.strip()
        ]
        pools.append(np.array(sentences, dtype=object))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_reviews)
    counts = rng.integers(3, 12, n_reviews)
    corpus = []
    for label, k in zip(y.tolist(), counts.tolist(), strict=True):
        pool = pools[label]
        corpus.append(" ".join(pool[rng.integers(0, pool.size, k)]))
    return corpus, y


def _hwm_reset():
    """Reset the peak resident size (Linux's VmHWM) to the current one."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def skimdb_features(train, test=None):
    from skimdb import MultiHotVectorizer, ReviewEncoder

    enc = ReviewEncoder(num_words=NUM_WORDS)
    vec = MultiHotVectorizer(num_words=NUM_WORDS)
    X = vec.fit_transform(enc.fit_transform(train))
    if test is None:
        return X, enc
    return X, vec.transform(enc.transform(test)), enc


def count_vectorizer_features(train, test=None):
    from sklearn.feature_extraction.text import CountVectorizer

    cv = CountVectorizer(binary=True, max_features=NUM_WORDS, dtype=np.float32)
    if test is None:
        return cv.fit_transform(train)
    cv.fit(train)
    return cv.transform(train), cv.transform(test)


def _timed(function, *args):
    gc.collect()
    start = time.perf_counter()
    out = function(*args)
    return time.perf_counter() - start, out


def _trim():
    """glibc's malloc_trim: what the corpus' building freed goes back before the
    count starts, for both pipelines (the codec trims after encoding, which would
    otherwise also return memory freed before the base and lower its growth)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def memory_child(which, n_reviews):
    """Run one pipeline on the corpus in this process; print its peak growth.

    Every module the pipeline uses is imported before the count starts: for
    skimdb that is ``IMDBNet``'s module, and with it TensorFlow and Keras, whose
    import (about 0.5 GB resident, a cost paid once per process, not per review)
    is reported apart as ``import_mib``. ``IMDBNet`` trains on the NumPy core, but
    the class is a scikeras ``KerasClassifier``, so it cannot be had without them.
    """
    texts, y = synthetic_corpus(n_reviews)
    gc.collect()
    _trim()
    before_import = _status_mib("VmRSS")
    if which == "skimdb":
        # IMDBNet is imported lazily by skimdb: this import loads TensorFlow
        from skimdb import IMDBNet, MultiHotVectorizer, ReviewEncoder
    else:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline

    gc.collect()
    _trim()
    base = _status_mib("VmRSS")
    _hwm_reset()
    start = time.perf_counter()
    if which == "skimdb":
        model = make_pipeline(
            ReviewEncoder(num_words=NUM_WORDS),
            MultiHotVectorizer(num_words=NUM_WORDS),
            IMDBNet(epochs=4, random_state=0),
        )
    else:
        model = make_pipeline(
            CountVectorizer(binary=True, max_features=NUM_WORDS, dtype=np.float32),
            MLPClassifier(
                (16, 16), batch_size=512, max_iter=4, random_state=0, verbose=False
            ),
        )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLPClassifier's ConvergenceWarning
        model.fit(texts, y)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "growth_mib": _status_mib("VmHWM") - base,
                "import_mib": base - before_import,
                "seconds": seconds,
            }
        )
    )


def memory_row(n_reviews):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    out = {}
    for which in ("skimdb", "sklearn"):
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-child",
                which,
                "--reviews",
                str(n_reviews),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        out[which] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def unchanged(texts_train, texts_test, synthetic):
    """The codec's index, ids and matrices equal the pure-Python reference's."""
    sys.path.insert(0, str(REPO / "tests"))
    import _reference_codec as ref

    from skimdb import MultiHotVectorizer, ReviewEncoder

    ok = True
    for train, test in (
        (texts_train, texts_test),
        (synthetic[:20_000], synthetic[20_000:30_000]),
    ):
        enc = ReviewEncoder(num_words=NUM_WORDS)
        ids = enc.fit_transform(train)
        word_index, ref_ids = ref.fit_encode(train, num_words=NUM_WORDS)
        ok &= enc.word_index_ == word_index and list(enc.word_index_) == list(
            word_index
        )
        ok &= ids.tolist() == ref_ids
        ok &= enc.transform(test).tolist() == ref.encode(
            test, word_index, num_words=NUM_WORDS
        )
        vec = MultiHotVectorizer(num_words=NUM_WORDS)
        ok &= (vec.fit_transform(ids) != vec.transform(ref_ids)).nnz == 0
    return bool(ok)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--memory-child", choices=["skimdb", "sklearn"])
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.reviews)
        return 0

    rows = []
    train, _, test = imdb_texts()
    corpus, _ = synthetic_corpus(args.reviews)
    mb = sum(map(len, corpus)) / 1e6
    print(f"synthetic corpus: {len(corpus):,} reviews, {mb:,.0f} MB of text")

    ours, _ = _timed(skimdb_features, corpus)
    theirs, _ = _timed(count_vectorizer_features, corpus)
    rows.append(
        (
            f"{len(corpus):,} reviews, text to multi-hot: skimdb {ours:.1f} s, "
            f"CountVectorizer {theirs:.1f} s",
            f"{theirs / ours:.1f}x",
            ">= 5x",
            theirs / ours >= 5,
        )
    )
    del corpus
    gc.collect()

    ours, _ = _timed(skimdb_features, train, test)
    theirs, _ = _timed(count_vectorizer_features, train, test)
    rows.append(
        (
            f"IMDB 50,000 raw reviews, fit on train + both transforms: skimdb "
            f"{ours:.2f} s, CountVectorizer {theirs:.2f} s",
            f"{theirs / ours:.1f}x",
            ">= 5x",
            theirs / ours >= 5,
        )
    )

    if not args.skip_memory:
        memory = memory_row(args.reviews)
        ours, theirs = memory["skimdb"]["growth_mib"], memory["sklearn"]["growth_mib"]
        rows.append(
            (
                f"{args.reviews:,} reviews, peak RSS growth of text -> fit (imports "
                f"done before): skimdb {ours:,.0f} MiB "
                f"({memory['skimdb']['seconds']:.0f} s), CountVectorizer + "
                f"MLPClassifier {theirs:,.0f} MiB "
                f"({memory['sklearn']['seconds']:.0f} s); the imports: "
                f"{memory['skimdb']['import_mib']:,.0f} MiB (TensorFlow) against "
                f"{memory['sklearn']['import_mib']:,.0f} MiB",
                f"{ours / theirs:.2f}x",
                "<= 1x",
                ours <= theirs,
            )
        )

    corpus, _ = synthetic_corpus(30_000, seed=1)
    same = unchanged(train, test, corpus)
    rows.append(
        (
            "unchanged results: word index, ids, multi-hot = the Python reference "
            "(IMDB train/test; 30,000 synthetic reviews)",
            "equal" if same else "DIFFERENT",
            "equal",
            same,
        )
    )

    print(f"\n{'measured':<110} {'':>8} {'required':>9} met")
    for what, value, required, met in rows:
        print(f"{what:<110} {value:>8} {required:>9} {'yes' if met else 'NO'}")
    return 0 if all(met for *_, met in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
