"""Sphinx configuration of the sdc-engine documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (after
``pip install ".[docs]"``). Works offline: no intersphinx, no remote assets.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import sdc  # noqa: E402

project = "sdc-engine"
author = "sdc-engine contributors"
copyright = "sdc-engine contributors"
version = release = sdc.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "numpydoc",
    "sdc_docs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_typehints = "description"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
autosummary_generate = False
numpydoc_validation_checks: set[str] = set()

html_theme = "furo"
html_title = f"sdc-engine {release}"
html_static_path = ["_static"]
html_show_sourcelink = False
