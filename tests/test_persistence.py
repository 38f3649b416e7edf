"""skimdb.persistence: round trips, a loader that trusts nothing, an atomic save.

Each hostile case edits a real saved folder as an attacker (or a failing disk)
would and checks that :func:`~skimdb.persistence.load` refuses it with
:class:`~skimdb.persistence.ModelFileError` naming the file and the field,
before anything is built; the save cases fail or kill a real save midway and
check that the previous model is still loadable.
"""

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import zipfile
from contextlib import contextmanager

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skimdb.persistence as persistence
from skimdb import (
    IMDBNet,
    MultiHotVectorizer,
    NBLogCountRatio,
    ReviewEncoder,
    make_pipeline,
)
from skimdb.persistence import ModelFileError, load, save

BOUND_S = 300  # a child process that imports TensorFlow and saves a tiny network
REVIEWS = [[1, 2, 3], [4, 5], [6], [7, 8, 9, 9]] * 10
LABELS = np.arange(40) % 2


def _net(**params):
    return IMDBNet(**{"epochs": 1, "batch_size": 16, "random_state": 0, **params})


def _pipe(**clf):
    return Pipeline([("vec", MultiHotVectorizer(num_words=12)), ("clf", _net(**clf))])


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = sp.random(40, 12, density=0.3, format="csr", random_state=rng)
    X = X.astype(np.float32)
    X.data[:] = 1
    return X, np.arange(40) % 2


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return _net().fit(X, y)


@pytest.fixture(scope="module")
def fitted_pipe():
    return _pipe(epochs=3).fit(REVIEWS, np.array(["neg", "pos"])[LABELS])


def _children(scripts, tmp_path):
    """Run Python scripts in child processes; return their stdout."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    outputs = []
    for script in scripts:
        child = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            timeout=BOUND_S,
        )
        assert child.returncode == 0, child.stderr.decode()[-3000:]
        outputs.append(child.stdout.decode())
    return outputs


# -- round trips ---------------------------------------------------------------------


@pytest.mark.slow
def test_saved_pipeline_predicts_identically_in_a_new_process(fitted_pipe, tmp_path):
    save(fitted_pipe, tmp_path / "safe")
    joblib.dump(fitted_pipe, tmp_path / "pipe.joblib")
    np.save(
        tmp_path / "reviews.npy", np.array(REVIEWS, dtype=object), allow_pickle=True
    )
    script = textwrap.dedent(
        """
        import joblib, numpy as np
        from skimdb.persistence import load
        reviews = list(np.load("reviews.npy", allow_pickle=True))
        np.save("safe.npy", load("safe").predict_proba(reviews))
        np.save("joblib.npy", joblib.load("pipe.joblib").predict_proba(reviews))
        np.save("labels.npy", load("safe").predict(reviews))
        """
    )
    _children([script], tmp_path)
    expected = fitted_pipe.predict_proba(REVIEWS)
    np.testing.assert_array_equal(np.load(tmp_path / "safe.npy"), expected)
    np.testing.assert_array_equal(np.load(tmp_path / "joblib.npy"), expected)
    np.testing.assert_array_equal(
        np.load(tmp_path / "labels.npy"), fitted_pipe.predict(REVIEWS)
    )


def test_save_and_load_round_trip(fitted_pipe, tmp_path):
    save(fitted_pipe, tmp_path / "model")
    names = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert {"1_clf.keras", "skimdb.json"} <= set(names)
    assert set(names) <= {"1_clf.keras", "skimdb.json", "arrays.npz"}
    if "arrays.npz" in names:  # no pickle inside
        np.load(tmp_path / "model" / "arrays.npz", allow_pickle=False).close()
    manifest = (tmp_path / "model" / "skimdb.json").read_text()
    assert "pickle" not in manifest and json.loads(manifest)["format_version"] == 1
    loaded = load(tmp_path / "model")
    np.testing.assert_array_equal(
        loaded.predict_proba(REVIEWS), fitted_pipe.predict_proba(REVIEWS)
    )
    assert loaded.get_params(deep=True).keys() == fitted_pipe.get_params().keys()
    for name, value in fitted_pipe.get_params(deep=True).items():
        if name not in ("steps", "vec", "clf"):
            assert loaded.get_params()[name] == value, name
    clf = loaded.named_steps["clf"]
    np.testing.assert_array_equal(clf.classes_, ["neg", "pos"])
    assert clf.history_ == fitted_pipe.named_steps["clf"].history_
    # it goes on as a fitted IMDBNet: a warm start continues training
    clf.set_params(warm_start=True).fit(
        loaded.named_steps["vec"].transform(REVIEWS), np.array(["neg", "pos"])[LABELS]
    )
    assert len(clf.history_["loss"]) == 6
    # and a clone refits from scratch
    assert clone(loaded).fit(REVIEWS, LABELS).predict(REVIEWS).shape == (40,)


def test_save_single_steps(data, fitted, tmp_path):
    X, _ = data
    save(fitted, tmp_path / "net")
    np.testing.assert_array_equal(
        load(tmp_path / "net").predict_proba(X), fitted.predict_proba(X)
    )
    vec = MultiHotVectorizer(num_words=None, dtype=np.float64).fit([[1, 30]])
    save(vec, tmp_path / "vec")
    again = load(tmp_path / "vec")
    assert again.get_params() == vec.get_params() and again.num_words_ == 31
    assert (again.transform([[30, 99]]) != vec.transform([[30, 99]])).nnz == 0
    bigrams = MultiHotVectorizer(num_words=10, ngram_range=(1, 2)).fit(REVIEWS)
    save(bigrams, tmp_path / "bigrams")
    again = load(tmp_path / "bigrams")
    assert again.get_params() == bigrams.get_params()
    np.testing.assert_array_equal(again.vocabulary_, bigrams.vocabulary_)
    assert (again.transform(REVIEWS) != bigrams.transform(REVIEWS)).nnz == 0


def test_text_pipeline_round_trip(tmp_path):
    texts = ["a good film", "a bad film", "good good fun", "bad and dull"] * 10
    words = {"a": 1, "good": 2, "bad": 3, "film": 4, "fun": 5, "dull": 6}
    pipe = Pipeline(
        [
            ("enc", ReviewEncoder(word_index=words)),
            ("vec", MultiHotVectorizer(num_words=12)),
            ("nb", NBLogCountRatio()),
            ("clf", _net()),
        ]
    ).fit(texts, LABELS)
    save(pipe, tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert loaded.named_steps["enc"].word_index_ == pipe.named_steps["enc"].word_index_
    np.testing.assert_array_equal(
        loaded.named_steps["nb"].log_count_ratio_,
        pipe.named_steps["nb"].log_count_ratio_,
    )
    np.testing.assert_array_equal(
        loaded.predict_proba(["good fun", "dull film"]),
        pipe.predict_proba(["good fun", "dull film"]),
    )


def test_best_preset_round_trip(tmp_path):
    pipe = make_pipeline("best", random_state=0).fit(REVIEWS, LABELS)
    save(pipe, tmp_path / "best")
    loaded = load(tmp_path / "best")
    np.testing.assert_array_equal(
        loaded.predict_proba(REVIEWS), pipe.predict_proba(REVIEWS)
    )
    assert loaded.named_steps["vec"]._ngram_keys.keys() == {2, 3}


def test_save_step_names_that_are_no_file_names(tmp_path):
    pipe = Pipeline([("vec", MultiHotVectorizer(num_words=12)), ("net/1", _net())])
    pipe.fit(REVIEWS, LABELS)
    save(pipe, tmp_path / "model")
    assert (tmp_path / "model" / "1_net_1.keras").is_file()
    loaded = load(tmp_path / "model")
    assert [name for name, _ in loaded.steps] == ["vec", "net/1"]
    np.testing.assert_array_equal(
        loaded.predict_proba(REVIEWS), pipe.predict_proba(REVIEWS)
    )


def test_save_refuses_what_it_cannot_store_safely(data, fitted, tmp_path):
    import keras

    X, y = data
    with pytest.raises(NotFittedError):
        save(_pipe(), tmp_path / "a")
    with pytest.raises(TypeError, match="got StandardScaler"):
        save(Pipeline([("scale", StandardScaler().fit([[1.0]]))]), tmp_path / "b")
    net = _net(callbacks=[keras.callbacks.TerminateOnNaN()]).fit(X, y)
    with pytest.raises(TypeError, match="callbacks=.* can't be saved"):
        save(net, tmp_path / "c")
    net = _net(random_state=np.random.RandomState(0)).fit(X, y)
    with pytest.raises(TypeError, match="random_state=RandomState"):
        save(net, tmp_path / "d")
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "keep.txt").write_text("a file")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        save(fitted, tmp_path / "e")
    # overwrite=True replaces a saved model only, never any other folder
    with pytest.raises(FileExistsError, match="holds no saved model"):
        save(fitted, tmp_path / "e", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e"]  # nothing half-written
    assert (tmp_path / "e" / "keep.txt").read_text() == "a file"


# -- load trusts nothing: tampered manifests ------------------------------------------


def _edit_manifest(folder, edit):
    path = folder / "skimdb.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


@pytest.fixture
def saved_net(fitted, tmp_path):
    save(fitted, tmp_path / "net")
    return tmp_path / "net"


@pytest.fixture
def no_keras_build(monkeypatch):
    """Fail the test if Keras is asked to build a network."""
    import keras

    def refuse(*args, **kwargs):
        raise AssertionError("keras.saving.load_model was called")

    monkeypatch.setattr(keras.saving, "load_model", refuse)


def _params(m):
    return m["estimator"]["params"]


def _fitted(m):
    return m["estimator"]["fitted"]


TAMPERED = {
    "other format": (lambda m: m.update(format="other"), "not written by"),
    "newer version": (lambda m: m.update(format_version=99), "format version 99"),
    "a class not loaded": (
        lambda m: m["estimator"].update({"class": "os.system"}),
        "rebuilds Pipelines, IMDBNet and the steps of",
    ),
    "a Popen step": (
        lambda m: m["estimator"].update(
            {
                "class": "Pipeline",
                "steps": [
                    ["a", {"class": "Popen", "module": "subprocess", "params": {}}]
                ],
            }
        ),
        "the file names 'Popen'",
    ),
    "a model file outside": (
        lambda m: _fitted(m).update(model_={"__keras__": "../../evil.keras"}),
        "refusing the model file name",
    ),
    "a model file outside, first layout": (
        lambda m: m["estimator"].update(model="../../evil.keras"),
        "refusing the model file name",
    ),
    "a huge n_features_in_": (
        lambda m: _fitted(m).update(n_features_in_=10**9),
        r"input is 12 wide, but n_features_in_=1000000000|give \(1000000000, 16\)",
    ),
    "n_features_in_ as a str": (
        lambda m: _fitted(m).update(n_features_in_="12"),
        r"input is 12 wide, but n_features_in_='12'|n_features_in_ must be an int",
    ),
    "hidden_layers of 10**6": (
        lambda m: _params(m).update(hidden_layers=10**6),
        "3 Dense layers, but hidden_layers=1000000|as hidden_layers=1000000 gives",
    ),
    "units of 10**9": (
        lambda m: _params(m).update(units=10**9),
        r"hidden layers of \[16, 16\] units, but units=1000000000"
        r"|give \(12, 1000000000\)",
    ),
    "units as a str": (lambda m: _params(m).update(units="16"), "'units' parameter"),
    "a negative learning_rate": (
        lambda m: _params(m).update(learning_rate=-1.0),
        "'learning_rate' parameter",
    ),
    "an unknown parameter": (
        lambda m: _params(m).update(evil=1),
        "IMDBNet has no parameter 'evil'",
    ),
    "params as a list": (
        lambda m: m["estimator"].update(params=[1]),
        "field 'estimator.params': must be a dict",
    ),
    "history_ as a list": (
        lambda m: _fitted(m).update(history_=[1]),
        "'estimator.fitted': AttributeError",
    ),
    "an array name that is no member": (
        lambda m: _fitted(m).update(classes_={"__array__": "a7"}),
        "member 'a7.npy'.* is missing",
    ),
    "an array name of another kind": (
        lambda m: _fitted(m).update(classes_={"__array__": 5}),
        "refusing the array name 5",
    ),
    "an unknown tag": (
        lambda m: _fitted(m).update(classes_={"__pickle__": "x"}),
        "unexpected value",
    ),
    "an object dtype": (
        lambda m: _fitted(m).update(classes_={"__ndarray__": [1, 2], "dtype": "O"}),
        "object array may hold str only",
    ),
    "units as a list": (lambda m: _params(m).update(units=[[]]), "'units' parameter"),
    "estimator as a list": (lambda m: m.update(estimator=[]), "must be a dict"),
    "classes_ of one label": (
        lambda m: _fitted(m).update(classes_={"__ndarray__": [0], "dtype": "<i8"}),
        "classes_ must be 2 or more distinct labels",
    ),
}


#: The cases refused only by IMDBNet's own checks, once its network is read.
AFTER_BUILD = {"history_ as a list", "classes_ of one label"}


@pytest.mark.parametrize("case", TAMPERED)
def test_load_refuses_tampered_manifests(case, saved_net, request):
    if case not in AFTER_BUILD:
        request.getfixturevalue("no_keras_build")
    edit, match = TAMPERED[case]
    _edit_manifest(saved_net, edit)
    with pytest.raises(ModelFileError, match=match) as info:
        load(saved_net)
    assert str(saved_net) in str(info.value)  # the file, and the field:
    assert any(
        words in str(info.value)
        for words in ("field 'estimator", "not written by", "format version")
    )


def test_load_reads_the_first_layout(saved_net, fitted, data):
    # the first saves named the network beside the fitted values, and arrays
    # without their dtype and shape
    def first_layout(m):
        m["estimator"]["model"] = _fitted(m).pop("model_")["__keras__"]
        m["estimator"].pop("module")
        for value in _fitted(m).values():
            if isinstance(value, dict) and "__array__" in value:
                value.pop("dtype"), value.pop("shape")

    _edit_manifest(saved_net, first_layout)
    X, _ = data
    np.testing.assert_array_equal(
        load(saved_net).predict_proba(X), fitted.predict_proba(X)
    )


def test_load_refuses_what_is_not_a_saved_model(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "none")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "skimdb.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(tmp_path / "bad")
    (tmp_path / "bad" / "skimdb.json").write_text("[" * 100_000)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(tmp_path / "bad")


PLAIN_TAMPERED = {
    "an attribute named transform": (
        lambda f: f.update(transform={"__tuple__": []}),
        "no fitted attribute 'transform'",
    ),
    "an attribute named like a parameter": (
        lambda f: f.update(num_words=5),
        "no fitted attribute 'num_words'",
    ),
    "an attribute fit never makes": (
        lambda f: f.update(evil_=1),
        "no fitted attribute 'evil_'",
    ),
    "a missing attribute": (lambda f: f.pop("num_words_"), "num_words_'.*is missing"),
    "num_words_ as a str": (
        lambda f: f.update(num_words_="12"),
        "num_words_'.*must be an int",
    ),
    "num_words_ unlike num_words": (
        lambda f: f.update(num_words_=7),
        "7 differs from num_words=12",
    ),
}


@pytest.mark.parametrize("case", PLAIN_TAMPERED)
def test_load_refuses_tampered_plain_steps(case, tmp_path):
    save(MultiHotVectorizer(num_words=12).fit(REVIEWS), tmp_path / "vec")
    edit, match = PLAIN_TAMPERED[case]
    _edit_manifest(tmp_path / "vec", lambda m: edit(_fitted(m)))
    with pytest.raises(ModelFileError, match=match):
        load(tmp_path / "vec")


def test_load_checks_plain_parameters_with_the_steps_own_checks(tmp_path):
    save(MultiHotVectorizer(num_words=12).fit(REVIEWS), tmp_path / "vec")
    for params, match in [
        ({"num_words": -1}, "'num_words' parameter"),
        ({"ngram_range": [1, 2]}, "'ngram_range' parameter"),  # a list, not a tuple
        ({"ngram_range": {"__tuple__": [3, 1]}}, "min_n <= max_n"),
        ({"oov_id": 50}, "oov_id=50 is not a column"),
    ]:
        good = json.loads((tmp_path / "vec" / "skimdb.json").read_text())
        _edit_manifest(tmp_path / "vec", lambda m, p=params: _params(m).update(p))
        with pytest.raises(ModelFileError, match=match):
            load(tmp_path / "vec")
        (tmp_path / "vec" / "skimdb.json").write_text(json.dumps(good))
    assert load(tmp_path / "vec").num_words_ == 12


# -- load trusts nothing: the files ---------------------------------------------------


@contextmanager
def _deadline(seconds):
    """Fail instead of hanging (a FIFO opened for reading waits for a writer)."""

    def stop(signum, frame):
        raise TimeoutError(f"load did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", ["skimdb.json", "arrays.npz", "model.keras"])
def test_load_refuses_symlinks_out_of_the_folder(name, saved_net, tmp_path):
    target = saved_net / name
    outside = tmp_path / f"outside-{name}"
    target.rename(outside)  # a valid file, but not inside the folder
    target.symlink_to(outside)
    with pytest.raises(ModelFileError, match=f"{name}' is a symbolic link"):
        load(saved_net)


@pytest.mark.parametrize("name", ["arrays.npz", "model.keras", "skimdb.json"])
def test_load_refuses_a_symlink_to_dev_zero(name, saved_net):
    (saved_net / name).unlink()
    (saved_net / name).symlink_to("/dev/zero")
    with _deadline(20), pytest.raises(ModelFileError, match="symbolic link"):
        load(saved_net)


@pytest.mark.parametrize("name", ["arrays.npz", "model.keras", "skimdb.json"])
def test_load_refuses_a_fifo_without_waiting(name, saved_net):
    (saved_net / name).unlink()
    os.mkfifo(saved_net / name)
    with _deadline(20), pytest.raises(ModelFileError, match="not a regular file"):
        load(saved_net)


def test_load_reads_only_the_arrays_the_manifest_names(saved_net, monkeypatch):
    # a 256 MiB member, about 256 KiB compressed, that no field names
    with zipfile.ZipFile(saved_net / "arrays.npz", "a", zipfile.ZIP_DEFLATED) as z:
        with z.open("huge.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(
                member, {"descr": "|u1", "fortran_order": False, "shape": (2**28,)}
            )
            chunk = bytes(2**20)
            for _ in range(2**8):
                member.write(chunk)
    assert (saved_net / "arrays.npz").stat().st_size < 2**21
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(
        zipfile.ZipFile,
        "open",
        lambda self, name, *a, **k: (
            opened.append(getattr(name, "filename", name))
            or real_open(self, name, *a, **k)
        ),
    )
    load(saved_net)
    assert "huge.npy" not in opened and "a0.npy" in opened


def _rewrite_member(path, name, transform):
    """Rewrite one member of a zip file, keeping the others."""
    with zipfile.ZipFile(path) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    members[name] = transform(members[name])
    with zipfile.ZipFile(path, "w") as z:
        for member, content in members.items():
            z.writestr(member, content)


def _npy(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_load_checks_array_sizes_before_decompressing(saved_net):
    # a header that declares more than the member holds
    _rewrite_member(saved_net / "arrays.npz", "a0.npy", lambda b: _npy(np.zeros(3)))
    with pytest.raises(ModelFileError, match="a0.npy.*dtype '<f8', declared '<i8'"):
        load(saved_net)
    header = _npy(np.zeros(10**6, dtype=np.int64))[:128]
    _rewrite_member(saved_net / "arrays.npz", "a0.npy", lambda b: header + bytes(16))
    with pytest.raises(ModelFileError, match=r"a0.npy.*shape \(1000000,\), declared"):
        load(saved_net)
    # a member shorter than its own header says
    header = _npy(np.zeros(2, dtype=np.int64))[:128]
    _rewrite_member(saved_net / "arrays.npz", "a0.npy", lambda b: header + bytes(8))
    with pytest.raises(ModelFileError, match="a0.npy.*136 bytes.*declares 144"):
        load(saved_net)


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("arrays.npz", b"not a zip", "arrays.npz' is not a readable zip"),
        ("model.keras", b"not a zip", "model.keras'.*BadZipFile"),
        ("arrays.npz", b"", "arrays.npz' is not a readable zip"),
    ],
)
def test_load_refuses_corrupt_files_with_one_error(name, content, match, saved_net):
    (saved_net / name).write_bytes(content)
    with pytest.raises(ModelFileError, match=match):
        load(saved_net)


def _edit_keras_config(path, edit):
    def transform(raw):
        config = json.loads(raw)
        edit(config["config"]["layers"])
        return json.dumps(config).encode()

    _rewrite_member(path, "config.json", transform)


KERAS_TAMPERED = {
    "units of 10**9": (
        lambda layers: layers[1]["config"].update(units=10**9),
        "over 268435456 weights",
    ),
    "units of 2**40": (
        lambda layers: layers[1]["config"].update(units=2**40),
        "layer 1's units must be an int in",
    ),
    "a huge input width": (
        lambda layers: layers[0]["config"].update(batch_shape=[None, 2**40]),
        "batch_shape must be an int",
    ),
    "too many weights": (
        lambda layers: layers[0]["config"].update(batch_shape=[None, 2**31 - 1]),
        "over 268435456 weights",
    ),
    "ten thousand more layers": (
        lambda layers: layers.extend([layers[2]] * 10**4),
        "10003 Dense layers, but hidden_layers=2",
    ),
    "a Lambda layer": (
        lambda layers: layers[2].update(class_name="Lambda"),
        "layer 2 is a 'Lambda'",
    ),
}


@pytest.mark.parametrize("case", KERAS_TAMPERED)
def test_load_checks_the_keras_config_before_building(case, saved_net, no_keras_build):
    edit, match = KERAS_TAMPERED[case]
    _edit_keras_config(saved_net / "model.keras", edit)
    with pytest.raises(ModelFileError, match=match) as info:
        load(saved_net)
    assert "model.keras" in str(info.value)


# -- save: atomic, umask-honest, cleaning up after a killed save --------------------


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_folder_mode_follows_the_umask(umask, fitted, tmp_path):
    previous = os.umask(umask)
    try:
        save(fitted, tmp_path / "model")
        (tmp_path / "old").mkdir(mode=0o755)
        os.chmod(tmp_path / "old", 0o755)
        save(fitted, tmp_path / "old2")
        os.chmod(tmp_path / "old2", 0o755)  # an existing 0755 model, replaced
        save(fitted, tmp_path / "old2", overwrite=True)
    finally:
        os.umask(previous)
    for folder in ("model", "old2"):
        mode = stat.S_IMODE((tmp_path / folder).stat().st_mode)
        assert mode == 0o777 & ~umask, (folder, oct(mode))
        for file in (tmp_path / folder).iterdir():
            assert stat.S_IMODE(file.stat().st_mode) == 0o666 & ~umask, file


def test_overwrite_replaces_a_model_and_leaves_nothing_beside_it(
    data, fitted, tmp_path
):
    X, y = data
    other = _net(random_state=1).fit(X, y)
    save(fitted, tmp_path / "model")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save(other, tmp_path / "model")
    save(other, tmp_path / "model", overwrite=True)
    np.testing.assert_array_equal(
        load(tmp_path / "model").predict_proba(X), other.predict_proba(X)
    )
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_save_that_runs_out_of_space_keeps_the_previous_model(
    data, fitted, tmp_path, monkeypatch
):
    import errno

    X, y = data
    save(fitted, tmp_path / "model")
    real_savez = np.savez

    def full_disk(file, **arrays):
        real_savez(file, **arrays)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(persistence.np, "savez", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save(_net(random_state=1).fit(X, y), tmp_path / "model", overwrite=True)
    monkeypatch.undo()
    np.testing.assert_array_equal(
        load(tmp_path / "model").predict_proba(X), fitted.predict_proba(X)
    )
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


_SAVE_IN_A_CHILD = textwrap.dedent(
    """
    import resource, signal, sys, time
    import skimdb.persistence as p
    from skimdb.persistence import load, save
    model = load("source")
    how = sys.argv[1]
    if how == "fsize":  # a file size limit: writes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    else:  # stop once the new model is written, before it is swapped in
        sync = p._sync_folder
        def hang(folder):
            sync(folder)
            print("written", flush=True)
            time.sleep(600)
        p._sync_folder = hang
    try:
        save(model, "model", overwrite=True)
    except OSError as exc:
        print(type(exc).__name__, exc.errno, flush=True)
    """
)


def test_a_save_over_a_file_size_limit_keeps_the_previous_model(data, fitted, tmp_path):
    X, y = data
    save(fitted, tmp_path / "model")
    save(_net(random_state=1).fit(X, y), tmp_path / "source")
    out = subprocess.run(
        [sys.executable, "-c", _SAVE_IN_A_CHILD, "fsize"],
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        timeout=BOUND_S,
        text=True,
    ).stdout
    assert out.split() == ["OSError", "27"]  # EFBIG
    np.testing.assert_array_equal(
        load(tmp_path / "model").predict_proba(X), fitted.predict_proba(X)
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "source"]


def test_a_killed_save_keeps_the_previous_model_and_is_cleaned_next_time(
    data, fitted, tmp_path
):
    X, y = data
    save(fitted, tmp_path / "model")
    other = _net(random_state=1).fit(X, y)
    save(other, tmp_path / "source")
    child = subprocess.Popen(
        [sys.executable, "-c", _SAVE_IN_A_CHILD, "kill"],
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        with _deadline(BOUND_S):
            assert child.stdout.readline().strip() == "written"
    finally:
        child.kill()  # SIGKILL: no cleanup runs in the child
        child.wait()
        child.stdout.close()
    partial = [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert len(partial) == 1 and partial[0].startswith(f".model-{child.pid}-")
    np.testing.assert_array_equal(
        load(tmp_path / "model").predict_proba(X), fitted.predict_proba(X)
    )
    save(other, tmp_path / "model", overwrite=True)  # the next save cleans it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "source"]
    np.testing.assert_array_equal(
        load(tmp_path / "model").predict_proba(X), other.predict_proba(X)
    )


# -- predicting without TensorFlow ----------------------------------------------------


def test_numpy_network_predicts_as_keras_without_tensorflow(tmp_path):
    texts = ["a great and moving film", "dull and boring", "great fun", "boring"] * 10
    labels = np.array(["neg", "pos", "meh"])[np.arange(40) % 3]
    pipe = Pipeline(
        [("enc", ReviewEncoder()), ("vec", MultiHotVectorizer()),
         ("clf", _net(epochs=3, activation="tanh"))]
    ).fit(texts, labels)  # fmt: skip
    save(pipe, tmp_path / "m")
    quick = load(tmp_path / "m", network="numpy")
    assert type(quick[-1]).__name__ == "NetworkPredictor"
    np.testing.assert_allclose(
        quick.predict_proba(texts), pipe.predict_proba(texts), atol=1e-6
    )
    assert np.array_equal(quick.predict(texts), pipe.predict(texts))
    assert quick.score(texts, labels) == pipe.score(texts, labels)
    with pytest.raises(TypeError, match="predicts only"):
        quick.fit(texts, labels)
    script = textwrap.dedent(
        f"""
        import sys
        from skimdb.persistence import load
        model = load({str(tmp_path / "m")!r}, network="numpy")
        print(model.predict(["great fun"])[0])
        assert "tensorflow" not in sys.modules, "TensorFlow was imported"
        assert "keras" not in sys.modules, "Keras was imported"
        """
    )
    (out,) = _children([script], tmp_path)
    assert out.strip() == str(pipe.predict(["great fun"])[0])


def test_numpy_network_refuses_what_it_cannot_compute(saved_net):
    with pytest.raises(ValueError, match="network must be 'keras' or 'numpy'"):
        load(saved_net, network="jax")
    _edit_manifest(saved_net, lambda m: m["estimator"]["fitted"].pop("weights_"))
    with pytest.raises(ModelFileError, match="saved without weights_"):
        load(saved_net, network="numpy")


@pytest.mark.parametrize("word_index", [None, "imdb"])
def test_a_saved_text_model_loads_offline_without_the_word_index(
    word_index, tmp_path, monkeypatch
):
    # fitted with Keras' index (as skimdb train does) or a learned one, the
    # encoder keeps what it needs in word_index_: loading reads no data file
    home = tmp_path / "home"
    home.mkdir()
    (home / "imdb_word_index.json").write_text(json.dumps({"great": 1, "dull": 2}))
    texts = ["great film", "dull film"] * 10
    enc = ReviewEncoder(word_index=word_index, min_count=1, data_home=str(home))
    pipe = Pipeline([("enc", enc), ("vec", MultiHotVectorizer(num_words=10))])
    pipe.fit(texts)
    save(pipe, tmp_path / "m")
    (home / "imdb_word_index.json").unlink()
    monkeypatch.setenv("SKIMDB_DATA", str(tmp_path / "nowhere"))
    loaded = load(tmp_path / "m")
    assert (loaded.transform(texts) != pipe.transform(texts)).nnz == 0


# -- both loaders run the estimator's own checks (issue 20, classes 7 and 8) ---------

BAD_PARAMS = {
    "an unknown parameter": ({"evil": 1}, "IMDBNet has no parameter 'evil'"),
    "hidden_layers=-5": ({"hidden_layers": -5}, "'hidden_layers' parameter"),
    "units='many'": ({"units": "many"}, "'units' parameter"),
    "units=True": ({"units": True}, r"'units' parameter|units=True|weights_\[0\] has"),
    "units=0": ({"units": 0}, "'units' parameter"),
    "dropout=inf": ({"dropout": float("inf")}, "'dropout' parameter"),
    "dropout=nan": ({"dropout": float("nan")}, "'dropout' parameter"),
    "dropout=1": ({"dropout": 1.0}, "'dropout' parameter"),
    "learning_rate=-1": ({"learning_rate": -1.0}, "'learning_rate' parameter"),
    "a loss it lacks": ({"loss": "hinge"}, "'loss' parameter"),
    "activation=5": ({"activation": 5}, "'activation' parameter"),
    "class_weight=[]": ({"class_weight": 3}, "'class_weight' parameter"),
    "verbose='loud'": ({"verbose": "loud"}, "'verbose' parameter"),
    "l2=-0.1": ({"l2": -0.1}, "'l2' parameter"),
    # parameters that contradict the saved weights
    "hidden_layers=1": ({"hidden_layers": 1}, "hidden_layers=1"),
    "units=8": ({"units": 8}, r"units=8|weights_\[0\] has shape \(12, 16\)"),
}


@pytest.mark.parametrize("network", ["keras", "numpy"])
@pytest.mark.parametrize("case", BAD_PARAMS)
def test_both_loaders_refuse_the_same_parameters(case, network, saved_net):
    # the CLI loads with network="numpy", which read only `activation`
    change, match = BAD_PARAMS[case]
    _edit_manifest(saved_net, lambda m: _params(m).update(change))
    with pytest.raises(ModelFileError, match=match) as info:
        load(saved_net, network=network)
    assert "field 'estimator" in str(info.value)


def _weight_member(folder, i):
    manifest = json.loads((folder / "skimdb.json").read_text())
    return _fitted(manifest)["weights_"][i]["__array__"] + ".npy"


def _poison(value, where):
    def transform(raw):
        import io

        array = np.load(io.BytesIO(raw))
        array.flat[where] = value
        return _npy(array)

    return transform


@pytest.mark.parametrize("network", ["keras", "numpy"])
@pytest.mark.parametrize(
    "value, layer, where",
    [
        (np.nan, 0, 0),  # the first kernel
        (np.inf, 1, 3),  # a bias
        (-np.inf, 4, -1),  # the output layer's kernel
        (np.nan, 5, 0),  # the output bias
    ],
)
def test_load_refuses_weights_that_are_not_finite(
    value, layer, where, network, saved_net, data
):
    path = saved_net / "arrays.npz"
    _rewrite_member(path, _weight_member(saved_net, layer), _poison(value, where))
    with pytest.raises(ModelFileError, match=rf"weights_\[{layer}\] holds NaN"):
        load(saved_net, network=network)


@pytest.mark.parametrize("network", ["keras", "numpy"])
@pytest.mark.parametrize(
    "weight, match",
    [
        (np.zeros((12, 16), dtype=np.int32), r"weights_\[0\] must be a float32"),
        (np.zeros((12, 16), dtype=np.float16), r"weights_\[0\] must be a float32"),
        (np.zeros((12, 8), dtype=np.float32), r"weights_\[0\] has shape \(12, 8\)"),
        (np.zeros((13, 16), dtype=np.float32), r"weights_\[0\] has shape \(13, 16\)"),
    ],
)
def test_load_refuses_weights_of_another_shape(weight, match, network, saved_net):
    path = saved_net / "arrays.npz"
    member = _weight_member(saved_net, 0)
    _rewrite_member(path, member, lambda raw: _npy(weight))
    _edit_manifest(
        saved_net,
        lambda m: _fitted(m)["weights_"][0].update(
            dtype=weight.dtype.str, shape=list(weight.shape)
        ),
    )
    with pytest.raises(ModelFileError, match=match):
        load(saved_net, network=network)


def _nested(depth, leaf, wrap):
    value = leaf
    for _ in range(depth):
        value = wrap(value)
    return value


NESTED = {
    "a list in a parameter": lambda m, d: _params(m).update(
        callbacks=_nested(d, 1, lambda v: [v])
    ),
    "a dict in a parameter": lambda m, d: _params(m).update(
        class_weight=_nested(d, 1, lambda v: {"__dict__": [[0, v]]})
    ),
    "a tuple in a parameter": lambda m, d: _params(m).update(
        units=_nested(d, 1, lambda v: {"__tuple__": [v]})
    ),
    "a list in a fitted value": lambda m, d: _fitted(m).update(
        history_=_nested(d, 0.5, lambda v: [v])
    ),
    "Pipelines in Pipelines": lambda m, d: m.update(
        estimator=_nested(
            d,
            m["estimator"],
            lambda v: {"class": "Pipeline", "verbose": False, "steps": [["p", v]]},
        )
    ),
}


@pytest.mark.parametrize("network", ["keras", "numpy"])
@pytest.mark.parametrize("depth", [33, 40, "deep"])
@pytest.mark.parametrize("case", NESTED)
def test_load_refuses_deep_nesting_with_one_error(case, depth, network, saved_net):
    # a list nested 900 deep in a parameter raised RecursionError; "deep" is as
    # deep as json.dumps writes it (up to three JSON levels a wrap)
    if depth == "deep":
        depth = 900 if "list" in case else 300
    _edit_manifest(saved_net, lambda m: NESTED[case](m, depth))
    with pytest.raises(ModelFileError, match="nested deeper than 32"):
        load(saved_net, network=network)


def test_load_refuses_json_nested_past_the_parser(saved_net):
    text = (saved_net / "skimdb.json").read_text()
    deep = "[" * 100_000 + "]" * 100_000
    (saved_net / "skimdb.json").write_text(text.replace('"relu"', deep, 1))
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(saved_net, network="numpy")


# -- loading is bounded (issue 20, class 4) --------------------------------------------


def _replace_member(folder, member, write, *, declare=None):
    """Rewrite ``member`` of arrays.npz with ``write(file)``; ``declare`` makes the
    zip's central directory claim that many bytes for it (a forged size)."""
    path = folder / "arrays.npz"
    with zipfile.ZipFile(path) as z:
        others = {i.filename: z.read(i) for i in z.infolist() if i.filename != member}
    with zipfile.ZipFile(path, "w") as z:
        for name, content in others.items():
            z.writestr(name, content)
        with (
            z.open(zipfile.ZipInfo(member), "w", force_zip64=True)
            if declare is None
            else z.open(member, "w") as out
        ):
            write(out)
        if declare is not None:
            z.getinfo(member).file_size = declare


def _declare_weight(folder, i, shape, n_features=None):
    def edit(m):
        _fitted(m)["weights_"][i]["shape"] = list(shape)
        if n_features is not None:
            _fitted(m)["n_features_in_"] = n_features

    _edit_manifest(folder, edit)


@contextlib.contextmanager
def _decompressed_at_most(limit):
    """Fail if loading decompresses more than ``limit`` bytes of any zip member."""
    read = zipfile.ZipExtFile.read
    total = [0]

    def counting(self, n=-1):
        data = read(self, n)
        total[0] += len(data)
        assert total[0] <= limit, f"{total[0]} bytes decompressed"
        return data

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zipfile.ZipExtFile, "read", counting)
        yield total


@pytest.mark.parametrize("network", ["keras", "numpy"])
def test_load_refuses_a_member_that_claims_gigabytes_before_reading_it(
    network, saved_net
):
    # the issue's case: 1.6 GB from a few bytes on disk, with a manifest and an
    # n_features_in_ that agree with it
    n_features = 25_000_000
    member = _weight_member(saved_net, 0)
    header = _npy(np.zeros((n_features, 16), np.float32)[:0])  # for its length
    _replace_member(
        saved_net,
        member,
        lambda f: np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (n_features, 16)}
        ),
        declare=len(header) + n_features * 16 * 4,
    )
    _declare_weight(saved_net, 0, (n_features, 16), n_features)
    with (
        _decompressed_at_most(2**12),
        pytest.raises(
            ModelFileError, match=r"declares 16000001\d\d bytes; arrays of at most"
        ),
    ):
        load(saved_net, network=network)


@pytest.mark.parametrize("network", ["keras", "numpy"])
def test_load_refuses_a_member_that_expands_too_much(network, saved_net):
    # 8 MiB of zeros in a few KiB: within the size bound, refused as a zip bomb
    n_features = 2**17
    member = _weight_member(saved_net, 0)

    def write(f):
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (n_features, 16)}
        )
        f.write(bytes(n_features * 16 * 4))

    path = saved_net / "arrays.npz"
    with zipfile.ZipFile(path) as z:
        others = {i.filename: z.read(i) for i in z.infolist() if i.filename != member}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in others.items():
            z.writestr(name, content)
        with z.open(member, "w") as out:
            write(out)
    _declare_weight(saved_net, 0, (n_features, 16), n_features)
    with (
        _decompressed_at_most(2**12),
        pytest.raises(ModelFileError, match="expand to 8388736 bytes, over 64 times"),
    ):
        load(saved_net, network=network)


@pytest.mark.parametrize("network", ["keras", "numpy"])
@pytest.mark.parametrize(
    "i, shape, match",
    [
        (0, (5000, 16), r"weights_\[0\] has shape \(5000, 16\)"),  # > n_features_in_
        (1, (100_000,), r"weights_\[1\] has shape \(100000,\)"),
        (5, (2, 1), r"weights_\[5\] has shape \(2, 1\)"),
    ],
)
def test_load_bounds_each_array_by_the_estimators_state_before_reading_it(
    i, shape, match, network, saved_net
):
    # each array agrees with its declaration in the manifest, but not with the
    # network the parameters, n_features_in_ and classes_ describe: its data is
    # never decompressed
    member = _weight_member(saved_net, i)
    _rewrite_member(
        saved_net / "arrays.npz", member, lambda b: _npy(np.ones(shape, np.float32))
    )
    _declare_weight(saved_net, i, shape)
    with _decompressed_at_most(2**12), pytest.raises(ModelFileError, match=match):
        load(saved_net, network=network)


def test_load_bounds_the_arrays_of_one_folder_together(saved_net, monkeypatch):
    import skimdb.persistence as persistence

    total = sum(
        i.file_size for i in zipfile.ZipFile(saved_net / "arrays.npz").infolist()
    )
    monkeypatch.setattr(persistence._format, "MAX_ARRAYS_BYTES", total - 1)
    with pytest.raises(ModelFileError, match="the arrays named so far declare"):
        load(saved_net, network="numpy")
    monkeypatch.setattr(persistence._format, "MAX_ARRAYS_BYTES", total)
    assert load(saved_net, network="numpy").predict(np.ones((1, 12))).shape == (1,)


@pytest.mark.parametrize(
    "step, edit, match",
    [
        (
            "nb",
            lambda f: f["log_count_ratio_"].update(shape=[10**6]),
            r"log_count_ratio_ has shape \(1000000,\), not \(12,\)",
        ),
        (
            "vec",
            lambda f: f["vocabulary_"].update(shape=[10**6, 2]),
            r"vocabulary_ holds 1000000 n-grams, but max_features=5",
        ),
        (
            "vec",
            lambda f: f["vocabulary_"].update(shape=[3, 40]),
            r"vocabulary_ has shape \(3, 40\), not \(n, <= 2\)",
        ),
    ],
)
def test_load_bounds_the_plain_steps_arrays_before_reading_them(
    step, edit, match, tmp_path
):
    reviews = [[1, 2, 3, 4], [4, 5, 2, 3], [6, 7], [7, 8, 9, 9]] * 10
    if step == "nb":
        model = NBLogCountRatio().fit(
            MultiHotVectorizer(12).fit_transform(reviews), LABELS
        )
    else:
        model = MultiHotVectorizer(12, ngram_range=(1, 2), max_features=5)
        model.fit(reviews)
    save(model, tmp_path / "m")

    def declare(m):
        edit(_fitted(m))
        # the member agrees with the forged declaration
        for ref in _fitted(m).values():
            if isinstance(ref, dict) and "shape" in ref and ref["shape"][0] >= 3:
                _rewrite_member(
                    tmp_path / "m" / "arrays.npz",
                    ref["__array__"] + ".npy",
                    lambda b, ref=ref: _npy(np.zeros(ref["shape"], ref["dtype"])),
                )

    _edit_manifest(tmp_path / "m", declare)
    with _decompressed_at_most(2**12), pytest.raises(ModelFileError, match=match):
        load(tmp_path / "m")


def _saved_encoder(folder, **params):
    words = {f"w{i}": i + 1 for i in range(40)}
    save(ReviewEncoder(word_index=words, **params).fit(), folder)
    return folder


def _set_word_index(folder, words):
    _edit_manifest(
        folder,
        lambda m: _fitted(m).update(
            word_index_={"__dict__": [[w, r] for w, r in words.items()]}
        ),
    )


@pytest.mark.parametrize(
    "params, words, match",
    [
        # more words than num_words=20 (index_from=3) keeps
        (
            {"num_words": 20},
            {f"x{i}": 1 for i in range(18)},
            "holds 18 words.*at most 17",
        ),
        ({"num_words": 20}, {f"x{i}": i + 1 for i in range(1000)}, "holds 1000 words"),
        # a rank that num_words would have dropped
        (
            {"num_words": 20},
            {"a": 1, "b": 17},
            "the rank of 'b' must be in \\[0, 16\\]",
        ),
        ({"num_words": 20, "index_from": 0}, {"a": 20}, "must be in \\[0, 19\\]"),
        ({"num_words": 3}, {"a": 1}, "holds 1 words.*at most 0"),
    ],
)
def test_load_bounds_the_word_index_by_num_words(params, words, match, tmp_path):
    folder = _saved_encoder(tmp_path / "enc", **params)
    load(folder)
    _set_word_index(folder, words)
    with pytest.raises(ModelFileError, match=match):
        load(folder)


def test_load_and_save_bound_the_word_index(tmp_path, monkeypatch):
    import skimdb.persistence as persistence

    monkeypatch.setattr(persistence._format, "MAX_WORD_INDEX", 30)
    with pytest.raises(ValueError, match="word_index_ can't be saved.*holds 40 words"):
        _saved_encoder(tmp_path / "enc")
    assert not (tmp_path / "enc").exists()
    monkeypatch.setattr(persistence._format, "MAX_WORD_INDEX", 40)
    folder = _saved_encoder(tmp_path / "enc")
    assert len(load(folder).word_index_) == 40
    _set_word_index(folder, {f"x{i}": i + 1 for i in range(41)})
    with pytest.raises(
        ModelFileError,
        match="holds 41 words; .* at most 40|a dict of 41 items; at most 40",
    ):
        load(folder)


def test_load_and_save_bound_the_manifest(tmp_path, monkeypatch):
    import skimdb.persistence as persistence

    folder = _saved_encoder(tmp_path / "enc")
    size = (folder / "skimdb.json").stat().st_size
    monkeypatch.setattr(persistence._format, "MAX_JSON_BYTES", size - 1)
    with pytest.raises(ModelFileError, match=f"is {size} bytes; at most {size - 1}"):
        load(folder)
    with pytest.raises(ValueError, match="would be .* bytes; load reads at most"):
        _saved_encoder(tmp_path / "other")
    assert not (tmp_path / "other").exists()
