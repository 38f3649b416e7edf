"""Model folders saved by earlier skimdb versions still load.

``tests/data/format_v1`` was written by skimdb at commit a8ee23d (before
persistence became a format-only package), with ``generate.py`` beside it; its
``expected.json`` holds what those models predicted then.
"""

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from skimdb.persistence import ModelFileError, load

DATA = Path(__file__).parent / "data" / "format_v1"


@pytest.fixture(scope="module")
def expected():
    return json.loads((DATA / "expected.json").read_text())


def _version(text):
    return tuple(int(part) for part in text.split(".")[:2])


@pytest.mark.parametrize("network", ["keras", "numpy"])
def test_a_pipeline_saved_by_format_version_1_loads(network, expected):
    if network == "keras":
        import keras

        with zipfile.ZipFile(DATA / "pipeline" / "2_clf.keras") as archive:
            saved = json.loads(archive.read("metadata.json"))["keras_version"]
        if _version(keras.__version__) < _version(saved):
            pytest.skip(
                f"the fixture's network was saved by Keras {saved}, whose layer "
                f"configs Keras {keras.__version__} does not read (Keras loads "
                "files of its own version or older)"
            )
    model = load(DATA / "pipeline", network=network)
    proba = model.predict_proba(expected["texts"])
    np.testing.assert_allclose(proba, expected["proba"], rtol=1e-6, atol=1e-7)


def test_transformers_saved_by_format_version_1_load(expected):
    model = load(DATA / "nb")
    encoder = load(DATA / "pipeline", network="numpy")[0]
    out = model.transform(encoder.transform(expected["texts"]))
    out = out.toarray() if hasattr(out, "toarray") else out
    np.testing.assert_allclose(out, expected["nb"], rtol=1e-12)


def test_an_unknown_format_version_names_it_and_what_to_do(tmp_path):
    folder = tmp_path / "nb"
    shutil.copytree(DATA / "nb", folder)
    manifest = json.loads((folder / "skimdb.json").read_text())
    manifest["format_version"] = 99
    (folder / "skimdb.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="format version 99.*reads version 1"):
        load(folder)
