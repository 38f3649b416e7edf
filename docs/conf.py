"""Sphinx configuration: numpydoc, sphinx-gallery, pydata-sphinx-theme.

``nox -s docs`` builds with warnings as errors. The gallery runs on the real
IMDB data; set ``SKIMDB_DOCS_QUICK=1`` to run it on a small subset instead.
"""

import os

import matplotlib

import skimdb

matplotlib.use("Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

project = "skimdb"
author = "the skimdb developers"
copyright = "skimdb developers"
version = release = skimdb.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "examples", "**/sg_execution_times.rst"]
root_doc = "index"

autosummary_generate = True
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "pydata_sphinx_theme"
html_title = f"skimdb {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    # only the plot_*.py examples run; the quick start is shown on its own page
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"quickstart\.py|__init__\.py",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "write_computation_times": False,
}
