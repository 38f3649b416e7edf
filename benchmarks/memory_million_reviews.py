"""Memory safety: multi-hot encode 1,000,000 synthetic reviews without a dense array.

Prints the time, the peak resident memory (RSS) of the process, what the input
and output take, and what a dense float32 matrix would have taken. Exits with
status 1 if the output is not sparse or the transform's memory (peak RSS minus
the RSS before it) reaches ``--max-ratio`` times the ids as int64 (the
transform gathers them into one int64 array and maps unknown ids in a copy),
or a quarter of the dense matrix, whichever is smaller.

    python benchmarks/memory_million_reviews.py
    python benchmarks/memory_million_reviews.py --reviews 100000 --mean-length 50

Reviews are int32 numpy arrays (one of the containers MultiHotVectorizer takes)
with lengths drawn around IMDB's (mean about 235 ids), word ids drawn from a
Zipf-like distribution over a 88,585-word vocabulary, so that ids beyond
``num_words`` go through the out-of-vocabulary path as with the real data.
"""

import argparse
import resource
import sys
import time

import numpy as np
import scipy.sparse as sp


def rss_mib():
    """The current resident set size in MiB (Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def synthetic_reviews(n, mean_length, vocabulary, seed):
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(mean_length) - 0.3, 0.75, n), 10, 2500)
    lengths = lengths.astype(np.int64)
    ranks = rng.zipf(1.3, int(lengths.sum())) % vocabulary  # heavy-tailed ids
    flat = (ranks + 1).astype(np.int32)  # >= 1, like load_data's (start mark aside)
    return np.split(flat, np.cumsum(lengths)[:-1]), flat.nbytes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--mean-length", type=float, default=235.0)
    parser.add_argument("--num-words", type=int, default=10_000)
    parser.add_argument("--vocabulary", type=int, default=88_585)
    parser.add_argument("--max-ratio", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from skimdb import MultiHotVectorizer

    start = time.perf_counter()
    X, input_bytes = synthetic_reviews(
        args.reviews, args.mean_length, args.vocabulary, args.seed
    )
    made = time.perf_counter() - start
    before = rss_mib()
    vec = MultiHotVectorizer(num_words=args.num_words).fit(X[:1])
    start = time.perf_counter()
    out = vec.transform(X)
    elapsed = time.perf_counter() - start
    peak = peak_rss_mib()

    sparse_mib = (out.data.nbytes + out.indices.nbytes + out.indptr.nbytes) / 2**20
    dense_mib = out.shape[0] * out.shape[1] * 4 / 2**20
    used = peak - before
    print(f"reviews:               {len(X):,} (made in {made:.1f} s)")
    print(
        f"ids:                   {input_bytes // 4:,} ({input_bytes / 2**20:,.0f} MiB)"
    )
    print(f"output:                {out.format} {out.shape}, {out.nnz:,} non-zeros")
    print(f"output size:           {sparse_mib:,.0f} MiB sparse")
    print(f"dense would be:        {dense_mib:,.0f} MiB")
    print(f"transform time:        {elapsed:.1f} s")
    print(f"RSS before transform:  {before:,.0f} MiB")
    print(f"peak RSS:              {peak:,.0f} MiB")
    print(f"transform's peak:      {used:,.0f} MiB (peak RSS - RSS before)")
    bound = min(args.max_ratio * 2 * input_bytes / 2**20, dense_mib / 4)
    ok = sp.issparse(out) and used < bound
    print(f"bound:                 {bound:,.0f} MiB -> {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
