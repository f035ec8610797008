"""Sphinx configuration of the mlpinspect documentation.

Build (from the repository root)::

    pip install ".[docs]"
    sphinx-build -W --keep-going -n -b html docs docs/_build/html

``-W`` turns warnings into errors and ``-n`` (nitpicky) reports every
cross-reference that does not resolve, which is the check of the internal
links. The build needs no network: intersphinx is off, the gallery runs on
the MNIST sample bundled with the package, and references to other projects
(numpy, matplotlib, ...) are left unlinked (see ``nitpick_ignore_regex``).

Set ``MLPINSPECT_DOCS_QUICK=1`` to train the gallery's networks for one epoch
(``MLPINSPECT_EXAMPLES_QUICK``): the pages are complete, the accuracies low.
"""

from __future__ import annotations

import inspect
import os
import pkgutil
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the gallery draws without a screen

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Document the source tree next to this file, even if another copy of the
# package is installed.
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE / "_ext"))  # study_results: pages from results files

import mlpinspect

if os.environ.get("MLPINSPECT_DOCS_QUICK"):
    os.environ["MLPINSPECT_EXAMPLES_QUICK"] = "1"

# -- project -------------------------------------------------------------------

project = "mlpinspect"
author = "mlpinspect developers"
copyright = "mlpinspect developers"
release = mlpinspect.__version__
version = ".".join(release.split(".")[:2])

# -- general -------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    "myst_parser",
    "study_results",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    # sphinx-gallery writes these next to the generated pages; they are
    # included by the gallery pages, not documents of their own.
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
    # Included by guide/study.rst; generated from study-results/full-mnist.json.
    "guide/study_numbers.rst",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
default_role = "literal"  # `x` is code, not a broken reference
pygments_style = "sphinx"
nitpicky = True

# References to other projects' objects cannot resolve without intersphinx
# (which would fetch their inventories from the network): leave them as text.
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(numpy|matplotlib|scipy|torch|keras|onnx|sklearn|pooch|pytest|pathlib"
        r"|typing|collections|captum|pandas)(\..*)?",
    ),
]

# -- autodoc / autosummary / numpydoc ---------------------------------------------

autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # the numpydoc sections describe types and shapes
autodoc_member_order = "bysource"
autodoc_default_options = {"inherited-members": False}

numpydoc_show_class_members = False  # the class template lists members
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# Every documented object has a docstring (GL08). The stricter checks are the
# test suite's: tests/test_docs.py requires an Examples section.
numpydoc_validation_checks = {"GL08"}
# Constants are documented by a ``#:`` comment or a string after them, which
# numpydoc's validation (reading the object's own ``__doc__``) cannot see.
numpydoc_validation_exclude = {r"\.__\w+__$", r"\.[A-Z][A-Z0-9_]+$"}

# -- the gallery ---------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",  # run every example, draw its figures
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("mlpinspect",),
    "image_scrapers": ("matplotlib",),
    # Animations an example keeps in a variable (plot_09) are embedded as
    # JavaScript players (frames as PNG; no ffmpeg needed).
    "matplotlib_animations": (True, "jshtml"),
    "remove_config_comments": True,
    "download_all_examples": True,
    # The execution-times page would load jQuery and DataTables from CDNs:
    # the documentation is offline, so it is not written.
    "write_computation_times": False,
    "show_memory": False,
    "min_reported_time": 1,
    "abort_on_example_error": False,  # report every failing example, then fail
    # A cell ending in a plotting call shows its figure, not its repr.
    "ignore_repr_types": r"matplotlib[.](artist|axes|figure|image|lines|text)",
}

# -- code run on the guide's pages (matplotlib's plot directive) ---------------------

plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.dpi": 110}
plot_pre_code = ""
plot_working_directory = str(HERE)

# -- HTML ----------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"mlpinspect {release}"
html_short_title = "mlpinspect"
html_static_path = ["_static"]
html_css_files = ["mlpinspect.css"]
html_js_files = ["figure-links.js"]
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {
    "logo": {"text": "mlpinspect"},
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # Pages made of wide figures (the gallery, the first look) give the
    # right-hand column to them: at 1280 px a figure then shows at about
    # 980 px instead of 620, its labels at 7 px or more instead of 5.
    # (Named one by one: the theme warns when two wildcard patterns match.)
    "secondary_sidebar_items": {
        "**": ["page-toc"],
        "guide/first_look": [],
        **{
            f"auto_examples/{example.stem}": []
            for example in sorted((HERE.parent / "examples").glob("plot_*.py"))
        },
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "icon_links": [],
    "show_prev_next": True,
}
html_sidebars = {
    "index": [],
    "changelog": [],
}
html_context = {"default_mode": "light"}

# -- Markdown (the changelog) -------------------------------------------------------

myst_enable_extensions = []
myst_heading_anchors = 3


# -- resolving re-exported names -------------------------------------------------------


def _documented_objects(env) -> dict[int, str]:
    """Documented Python objects by identity: id(object) -> documented name."""
    found: dict[int, str] = {}
    domain = env.get_domain("py")
    for name, _dispname, objtype, _doc, _anchor, _prio in domain.get_objects():
        if objtype not in ("function", "class", "exception", "data", "method"):
            continue
        try:
            obj = pkgutil.resolve_name(name)
        except Exception:
            continue
        if inspect.isclass(obj) or inspect.isroutine(obj):
            found.setdefault(id(obj), name)
    return found


def resolve_reexports(app, env, node, contnode):
    """Resolve a reference to a public object by another of its names.

    The API reference documents each object once, under its shortest public
    path (``mlpinspect.top_units``), but a docstring may name it by the module
    it comes from (``mlpinspect.analysis.top_units``) or relative to that
    module (``mnist_cache_dir`` in :func:`mlpinspect.load_mnist`, documented
    under :mod:`mlpinspect`). The first case is resolved by identity: both
    names are the same object. The second by the unique documented
    mlpinspect object whose name ends with the target. Anything else stays
    unresolved, and nitpicky mode reports it.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip("~.")
    if not target:
        return None
    domain = env.get_domain("py")
    if not hasattr(env, "_mlpinspect_documented"):
        env._mlpinspect_documented = _documented_objects(env)
    documented = env._mlpinspect_documented
    # The target as written, then relative to the current module and class.
    module, cls = node.get("py:module"), node.get("py:class")
    candidates = [target]
    if module:
        candidates.insert(0, f"{module}.{target}")
        if cls:
            candidates.insert(0, f"{module}.{cls}.{target}")
    name = None
    for candidate in candidates:
        name = _by_identity(candidate, documented)
        if name is not None:
            break
    if name is None and not target.startswith("mlpinspect."):
        suffix = "." + target
        matches = {
            n
            for n, *_ in domain.get_objects()
            if n.startswith("mlpinspect.") and n.endswith(suffix)
        }
        top_level = f"mlpinspect.{target}"
        if top_level in matches:  # the public API's own name wins
            name = top_level
        elif len(matches) == 1:
            name = matches.pop()
    if name is None:
        return None
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, "obj", name, node, contnode
    )


def _by_identity(target: str, documented: dict[int, str]) -> str | None:
    """The documented name of the object ``target`` names, if any."""
    if not target.startswith("mlpinspect"):
        return None
    try:
        obj = pkgutil.resolve_name(target)
    except Exception:
        return None
    if (inspect.isclass(obj) or inspect.isroutine(obj)) and id(obj) in documented:
        return documented[id(obj)]
    # A method or property of a class documented under another name.
    owner_name, _, attr = target.rpartition(".")
    try:
        owner = pkgutil.resolve_name(owner_name)
    except Exception:
        return None
    if inspect.isclass(owner) and id(owner) in documented:
        return f"{documented[id(owner)]}.{attr}"
    return None


def _forget_documented(app, env, docnames):
    if hasattr(env, "_mlpinspect_documented"):
        del env._mlpinspect_documented


# -- tables generated from the attribution registry ----------------------------------


def _registry_table_directive():
    """``.. mlpinspect-table:: methods`` renders a table of the attribution
    registry (``methods``, ``captum``, ``lrp-rules``, ``lrp-presets``), so the
    docs list what is registered instead of a list typed by hand."""
    from docutils import nodes
    from docutils.parsers.rst import Directive
    from docutils.statemachine import StringList

    from mlpinspect.analysis.attribution._docs import TABLES, rst_table

    class RegistryTable(Directive):
        required_arguments = 1

        def run(self):
            kind = self.arguments[0]
            if kind not in TABLES:
                raise self.error(f"unknown table {kind!r}; known: {sorted(TABLES)}")
            node = nodes.section()
            node.document = self.state.document
            lines = StringList(rst_table(kind).splitlines(), source=f"<{kind}>")
            self.state.nested_parse(lines, self.content_offset, node)
            return node.children

    return RegistryTable


_CDN_LINK = re.compile(
    r'<link[^>]+href="https?://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*"[^>]*>'
)


def _offline_pages(app, exception):
    """matplotlib's animation player (jshtml) links Font Awesome from a CDN for
    its button icons; the documentation is offline, so the link is removed and
    mlpinspect.css draws the icons as plain characters."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if "maxcdn.bootstrapcdn.com" in text:
            page.write_text(_CDN_LINK.sub("", text), encoding="utf-8")


_BACK_LINK = re.compile(r'(<a class="viewcode-back" href=")([^"#]+)#([^"]+)(")')


def _fix_back_links(app, exception):
    """The "[docs]" links of the highlighted source pages name an object by
    the module that defines it (``mlpinspect.datasets.load_mnist``) while its
    entry is anchored under the name it is documented by
    (``mlpinspect.load_mnist``): point each such link at the anchor of its
    target page that ends with the same dotted tail."""
    if exception is not None or app.builder.format != "html":
        return
    ids: dict[Path, list[str]] = {}
    for source in (Path(app.outdir) / "_modules").rglob("*.html"):
        text = source.read_text(encoding="utf-8")

        def fix(match, source=source):
            target = (source.parent / match.group(2)).resolve()
            if target not in ids:
                html = target.read_text(encoding="utf-8") if target.exists() else ""
                ids[target] = re.findall(r'id="([^"]+)"', html)
            anchor = match.group(3)
            if anchor in ids[target]:
                return match.group(0)
            parts = anchor.split(".")
            for n in range(len(parts) - 1, 0, -1):
                tail = "." + ".".join(parts[-n:])
                found = [i for i in ids[target] if i.endswith(tail)]
                if len(found) == 1:
                    return (
                        match.group(1)
                        + match.group(2)
                        + "#"
                        + found[0]
                        + match.group(4)
                    )
            return match.group(0)

        fixed = _BACK_LINK.sub(fix, text)
        if fixed != text:
            source.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _fix_back_links)
    app.connect("env-before-read-docs", _forget_documented)
    app.connect("missing-reference", resolve_reexports)
    app.add_directive("mlpinspect-table", _registry_table_directive())
    app.connect("build-finished", _offline_pages)
