"""Developer tasks: ``nox -s tests``, ``nox -s lint``, ``nox -s tests_min``."""

import os
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"

QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "2"}
REPO = Path(__file__).resolve().parent
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
    if "--quick" not in session.posargs:  # 1,000,000 reviews: about 2 minutes, 5 GB
        session.run("python", "benchmarks/memory_million_reviews.py")


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
