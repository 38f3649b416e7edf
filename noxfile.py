"""Developer tasks: ``nox -s tests``, ``nox -s lint``, ``nox -s tests_min``,
``nox -s wheel``; CI (``.ci/run``) runs tests, tests_min and wheel."""

import fnmatch
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"

QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "2"}
REPO = Path(__file__).resolve().parent
#: files the wheel must hold (glob patterns)
WHEEL_FILES = ("skimdb/datasets/descr/*.rst", "skimdb-*.dist-info/licenses/LICENSE")
SHOW_VERSIONS = (
    "import importlib.metadata as m; print(*(f'{d}=={m.version(d)}' for d in "
    "('numpy scipy scikit-learn joblib scikeras tensorflow keras pandas '"
    "'matplotlib dask distributed hypothesis pytest').split()))"
)


@nox.session
def tests(session):
    """Install skimdb with its test extras and run the test suite (doctests too)."""
    session.install("-e", ".[test]")  # doctests import the source tree itself
    session.run("pytest", *session.posargs, env=QUIET_TF)


@nox.session(venv_backend="uv")
def tests_min(session):
    """The fast tests (not ``slow``) at the lowest versions pyproject.toml declares.

    ``--resolution lowest-direct`` takes the floor of every dependency skimdb and its
    ``test`` extra name (the packages they pull in resolve as usual), so a floor too
    low to work fails here. Arguments after ``--`` go to pytest.
    """
    pins = Path(session.create_tmp()) / "lowest.txt"
    # wheels only: a floor without a wheel for this Python (numpy 1.24 on 3.12, say)
    # resolves to the lowest release that has one instead of a failing source build
    session.run(
        "uv", "pip", "compile", "pyproject.toml", "--extra", "test", "--quiet",
        "--resolution", "lowest-direct", "--only-binary", ":all:",
        "--python", os.path.join(session.bin, "python"), "-o", str(pins),
    )  # fmt: skip
    session.install("-r", str(pins))
    session.install("--no-deps", "-e", ".")
    session.run("python", "-c", SHOW_VERSIONS)
    session.run("pytest", "-m", "not slow", *session.posargs, env=QUIET_TF)


@nox.session
def wheel(session):
    """Build the wheel, install it (not editable) in this session's fresh venv and
    run the quick start from a temporary folder outside the source tree, on the
    real data (``SKIMDB_DATA``)."""
    dist = Path(session.create_tmp()).resolve() / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    # pip builds in an isolated environment: the session's venv gets only the wheel
    session.run("python", "-m", "pip", "wheel", "--no-deps", "-w", str(dist), ".")
    (built,) = dist.glob("skimdb-*.whl")
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
    for needed in WHEEL_FILES:
        if not fnmatch.filter(names, needed):
            session.error(f"{built.name} lacks {needed}")
    session.install(f"{built}[plot]")
    with tempfile.TemporaryDirectory() as run_dir:
        script = Path(run_dir) / "quickstart.py"
        shutil.copy(REPO / "docs" / "examples" / "quickstart.py", script)
        session.chdir(run_dir)  # neither the source tree nor its parent on sys.path
        where = session.run(
            "python", "-c", "import skimdb; print(skimdb.__file__)", silent=True
        ).strip()
        if "site-packages" not in where or Path(where).is_relative_to(REPO / "skimdb"):
            session.error(f"skimdb imported from {where}, not from the installed wheel")
        session.run("skimdb", "--help", silent=True)
        out = session.run("python", str(script), silent=True, env=QUIET_TF)
        session.chdir(REPO)
    print(out)
    found = re.search(r"test accuracy: ([0-9.]+)", out)
    if not found or float(found[1]) < 0.85:
        session.error("the quick start did not print a test accuracy of 0.85 or more")


@nox.session
def lint(session):
    """Check the code with ruff."""
    session.install("ruff>=0.6")
    session.run(
        "ruff", "check", "skimdb", "tests", "benchmarks", "docs", "noxfile.py",
        *session.posargs,
    )  # fmt: skip


@nox.session
def bench(session):
    """Side-by-side benchmark on the real data (``-- --quick`` for a small run)."""
    session.install(".[bench]")
    session.run("python", "benchmarks/run.py", *session.posargs, env=QUIET_TF)
    # the experiments grid, single fits and one-review predictions against the
    # targets of docs/performance.rst, side by side with MLPClassifier
    quick = ["--quick"] if "--quick" in session.posargs else []
    session.run("python", "benchmarks/speed_targets.py", *quick, env=QUIET_TF)
    # raw text to features against CountVectorizer (issue 17's targets)
    text_path = ["--reviews", "100000", "--skip-memory"] if quick else []
    session.run("python", "benchmarks/text_path.py", *text_path, env=QUIET_TF)
    if "--quick" not in session.posargs:  # 1,000,000 reviews: about 2 minutes, 5 GB
        session.run("python", "benchmarks/memory_million_reviews.py")
    # streaming skimdb train from a CSV file against the in-memory one, and on Dask
    # (1,200,000 reviews: about an hour on 2 cores; --quick: 40,000)
    session.run("python", "benchmarks/streaming.py", *quick, env=QUIET_TF)


@nox.session
def docs(session):
    """Build the HTML docs, warnings as errors (``SKIMDB_DOCS_QUICK=1``: small data)."""
    session.install(".[docs]")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html",
        *session.posargs,
        env=QUIET_TF,
    )  # fmt: skip


if os.environ.get("CI"):
    nox.options.error_on_missing_interpreters = True
