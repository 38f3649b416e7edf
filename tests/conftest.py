"""Shared fixtures: small generated data, and the real IMDB files when present."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Where the real IMDB files live for tests: ``SKIMDB_TEST_DATA`` or the
#: read-only ``../shared/data/imdb`` beside the checkout (as in CI).
REAL_DATA = Path(
    os.environ.get("SKIMDB_TEST_DATA", REPO.parent / "shared" / "data" / "imdb")
)
REAL_FILES = ("aclImdb_v1.tar.gz", "imdb_word_index.json")


@pytest.fixture(scope="session")
def real_data_home():
    """The folder holding the real IMDB tarball and word index, else skip."""
    missing = [name for name in REAL_FILES if not (REAL_DATA / name).is_file()]
    if missing:
        pytest.skip(
            f"real IMDB data absent: {', '.join(missing)} not in {REAL_DATA} "
            "(set SKIMDB_TEST_DATA to the folder holding them)"
        )
    return REAL_DATA


@pytest.fixture(scope="session")
def real_imdb(real_data_home):
    """``load_data(num_words=10000)`` on the real data, loaded once per session."""
    from skimdb.datasets import load_data

    return load_data(num_words=10000, data_home=real_data_home)
