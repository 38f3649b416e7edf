"""Developer tasks: ``nox -s tests``, ``nox -s lint``."""

import os

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"

QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "2"}


@nox.session
def tests(session):
    """Install skimdb with its test extras and run the test suite (doctests too)."""
    session.install(".[test]")
    session.run("pytest", *session.posargs, env=QUIET_TF)


@nox.session
def lint(session):
    """Check the code with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "skimdb", "tests", "noxfile.py", *session.posargs)


if os.environ.get("CI"):
    nox.options.error_on_missing_interpreters = True
