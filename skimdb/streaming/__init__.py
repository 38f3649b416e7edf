"""Fit a pipeline out of core: from CSV or Parquet files, or an iterable of chunks.

The corpus is never held: it is read once, a chunk at a time, and what training
needs is kept on disk in a compact binary form. :func:`fit_pipeline` fits a
pipeline ``ReviewEncoder -> MultiHotVectorizer -> IMDBNet`` so:

1. **One pass over the text.** Each chunk is split into words and counted
   (:func:`_count_chunk`), its words numbered in the order they first occur in
   the corpus so far; the counts are merged and the chunk's rows are written, as
   these provisional word ids, to one of a few bucket files picked at random
   (seeded from the network's ``random_state``). Each word also keeps the
   smallest training position of a row holding it, so that the word index
   learned from the merged counts (ranks by count, ties by first occurrence)
   is **exactly** the one ``ReviewEncoder().fit`` learns on the same rows in
   the same order.
2. **The word index and the features.** The encoder is fitted from the merged
   counts; the bucket files are read back in pieces of about ``chunk_size``
   rows, their provisional ids mapped to the final ones, multi-hot encoded and
   saved as ``.npz`` files (the CSR matrix's column indices and row offsets and
   the labels; no pickle).
3. **Epochs.** Each epoch takes the pieces in a new random order and trains the
   network one pass over each with :meth:`skimdb.IMDBNet.partial_fit` (which
   shuffles the rows within the piece), keeping the optimizer's state.

How the data is shuffled: rows are dealt to 64 bucket files as they are read,
by a seeded hash of their row number (so the same rows make the same pieces
however the file was cut, locally or on Dask), and the pieces, ``chunk_size``
rows each, are cut from the buckets one after the other, so a
piece (consecutive rows of a bucket) mixes rows from a stretch of the file about
64 pieces long; every epoch visits the pieces in a new order and ``IMDBNet``
shuffles the rows within each. A file sorted by label in runs longer than that
still gives pieces of one label: shuffle such a file once beforehand.

Memory is bounded by ``chunk_size`` (the chunk read, its words, one piece's
features) plus the vocabulary's counts, whatever the number of rows. The disk
holds about 4 bytes per word of the training texts during step 1, then 4 bytes
per distinct word of each review; all of it is deleted at the end.

With a ``distributed.Client`` (``client=``), step 1 runs on the cluster's
workers over ``dask.dataframe`` partitions; see :func:`fit_pipeline`.
"""

from skimdb.streaming._fitting import fit_pipeline
from skimdb.streaming._reading import held_out_rows, parse_labels, read_chunks

__all__ = ["fit_pipeline", "held_out_rows", "parse_labels", "read_chunks"]
