"""Developer tools for the course's notebooks: execute them, keep them in their committed form,
and build the static site. Run inside the checkout's .venv (the scripts/*.sh wrappers do).

  python scripts/course.py execute [NB ...]   run each notebook in a fresh kernel, store the widget
                                              state, write it in the committed form
  python scripts/course.py normalize [NB ...] only rewrite in the committed form
  python scripts/course.py check [NB ...]     exit 1 naming every notebook not in that form
  python scripts/course.py site [OUT]         static HTML pages + index (default OUT: site/)

The committed form is JupyterLab's saved form, with widget state saved only for what draws
without a kernel (keep_drawn_widget_state: the explorer's charts, not a question's buttons).
JupyterLab's saved form: what jupyter_server writes when JupyterLab saves, that is nbformat v4
JSON (keys sorted, one-space indent, text split into lines) plus a final newline, with the
kernelspec JupyterLab writes back once the kernel starts (its display name) and the
language_info the kernel reports. A notebook in that form is byte for byte what JupyterLab's
autosave writes, so opening it leaves `git status` clean (tests/browser/test_clean_notebooks.py).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
KERNEL = "python3"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# The widget manager for static pages, fetched once with npm into .venv (no CDN at view time);
# html-manager 1.0.x is the one for ipywidgets 8. bqplot's AMD module comes from the installed
# bqplot wheel itself, so the pages' chart code is the very version that made the state.
HTML_MANAGER = "@jupyter-widgets/html-manager@1.0.15"
REQUIREJS = "requirejs@2.3.8"


def course_notebooks(names: list[str] | None = None) -> list[Path]:
    if names:
        return [Path(n).resolve() for n in names]
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def kernelspec() -> dict:
    """The kernelspec metadata JupyterLab writes for the python3 kernel of this environment."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    return {"display_name": spec.display_name, "language": spec.language, "name": KERNEL}


_JS_NUMBER = re.compile(r'"\\u0000js:([^"\\]+)\\u0000"')


def _js_number(x: float) -> str:
    """``x`` as JavaScript's JSON.stringify writes it (the same shortest digits as Python's
    repr, but exponent form only below 1e-6 or from 1e21 on, written e-7 / e+21)."""
    text = repr(x)
    if "e" not in text:
        return text.removesuffix(".0")
    mantissa, exp = text.split("e")
    if -7 < int(exp) < 21:
        return format(Decimal(text), "f")
    return f"{mantissa}e{'+' if int(exp) > 0 else '-'}{abs(int(exp))}"


def _as_javascript(value):
    """Numbers as the browser holds them: JupyterLab sends the notebook as JSON from JavaScript,
    where 1.0 is 1, and integers beyond 2**53 are rounded to the nearest double."""
    if isinstance(value, dict):
        return {k: _as_javascript(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_javascript(v) for v in value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    number = float(value)
    if number.is_integer() and abs(number) <= 2**53:
        return int(number)
    return f"\0js:{_js_number(number)}\0"  # a placeholder, written out as a bare number below


def saved_form(nb) -> str:
    """The notebook's text exactly as JupyterLab (jupyter_server) saves it."""
    import nbformat

    nb.metadata["kernelspec"] = kernelspec()
    text = nbformat.writes(nbformat.from_dict(_as_javascript(nb)), version=4) + "\n"
    return _JS_NUMBER.sub(r"\1", text)


def committed_form(nb) -> str:
    """The notebook as committed: widget state only for what draws without a kernel, Layouts
    without their nulls, in JupyterLab's saved form."""
    keep_drawn_widget_state(nb)
    trim_widget_state(nb)
    return saved_form(nb)


def normalize(path: Path) -> bool:
    """Rewrite ``path`` in the committed form; True if a byte changed."""
    import nbformat

    old = path.read_text(encoding="utf-8")
    new = committed_form(nbformat.reads(old, as_version=4))
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def trim_widget_state(nb) -> int:
    """Drop the unset (null) CSS properties of every saved Layout; return how many went.

    A saved state keeps every trait, defaults included: an explorer's 125 Layouts were a fifth of
    its notebook, nearly all nulls. Every widget manager (JupyterLab's, the static site's) starts
    a Layout with exactly these nulls (``LayoutModel.defaults`` in @jupyter-widgets/base), so a
    Layout restored without them is the same Layout. Other models keep everything: their
    defaults are not all null (a Dropdown's index, bqplot's scales_metadata).
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    dropped = 0
    for model in state.values():
        if model.get("model_module") == "@jupyter-widgets/base" and model.get("model_name") == "LayoutModel":
            kept = {key: value for key, value in model["state"].items() if value is not None}
            dropped += len(model["state"]) - len(kept)
            model["state"] = kept
    return dropped


# Widgets that draw something with no kernel behind them: the charts (bqplot, its scales), and
# from ipywidgets only boxes, text and their layouts and styles. A button, slider, text field or
# dropdown draws too, but answers nothing without a kernel: the page would offer dead controls.
CHART_MODULES = {"bqplot", "bqscales"}
DRAWN_CONTROLS = {"VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel", "HTMLModel", "HTMLMathModel", "LabelModel",
                  "HTMLStyleModel", "HTMLMathStyleModel", "LabelStyleModel"}
_REFERENCE = re.compile(r'"IPY_MODEL_([0-9a-f]+)"')
# as the widget's own plain text says (hugelab.widgets.controls._Explains), and as short: a printed line longer
# than 80 characters is broken mid-word at 1068 px ('stat' / 'e is saved')
NEEDS_A_KERNEL = "{name}: run this cell to use it (a widget that needs a running kernel)"


def _references(model: dict) -> list[str]:
    return _REFERENCE.findall(json.dumps(model["state"]))


def _reachable(state: dict, roots: list[str]) -> list[str]:
    """The models ``roots`` draw with (each root, its children, layouts, styles, marks...)."""
    seen: dict[str, None] = {}
    todo = list(reversed(roots))
    while todo:
        key = todo.pop()
        if key in seen or key not in state:
            continue
        seen[key] = None
        todo.extend(reversed(_references(state[key])))
    return list(seen)


def _draws_without_a_kernel(state: dict, key: str) -> bool:
    model = state.get(key)
    if model is None:
        return False
    if model["model_module"] == "@jupyter-widgets/controls" and model["model_name"] not in DRAWN_CONTROLS:
        return False
    layout = model["state"].get("layout")
    layout_state = state.get(layout.removeprefix("IPY_MODEL_"), {}).get("state", {}) if isinstance(layout, str) else {}
    return layout_state.get("display") != "none"  # hidden: draws nothing (and bqplot sizes it negative)


def keep_drawn_widget_state(nb) -> tuple[int, int]:
    """Keep saved widget state only for what draws without a kernel; return (views kept, models kept).

    A widget output whose widgets reach no chart (a Predict question: text field, buttons) keeps no
    state: it answers nothing without a kernel, and its state was most of its notebook. Its output
    says so in plain text instead (GitHub, nbviewer, the static site and an unrun JupyterLab show
    that). A chart's output (the split explorer) keeps its boxes, texts and charts, minus its
    controls and anything hidden (display: none). Running the cell draws the whole widget again.
    """
    widgets = nb.metadata.get("widgets", {})
    state = widgets.get(WIDGET_STATE, {}).get("state", {})
    kept_views = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                continue
            models = _reachable(state, [view["model_id"]])
            if any(state[k]["model_module"] in CHART_MODULES for k in models):
                kept_views.append(view["model_id"])
                continue
            name = re.split(r"[(:]", str(output["data"].get("text/plain", "widget")), maxsplit=1)[0].strip() or "widget"
            del output["data"][WIDGET_VIEW]
            output["data"]["text/plain"] = NEEDS_A_KERNEL.format(name=name)
    drawn = {}
    for key in _reachable(state, kept_views):
        if not _draws_without_a_kernel(state, key):
            continue
        model = json.loads(json.dumps(state[key]))
        children = model["state"].get("children")
        if isinstance(children, list):
            model["state"]["children"] = [c for c in children
                                          if _draws_without_a_kernel(state, str(c).removeprefix("IPY_MODEL_"))]
        drawn[key] = model
    kept = {key: drawn[key] for key in _reachable(drawn, kept_views)}
    dangling = sorted({ref for model in kept.values() for ref in _references(model) if ref not in kept})
    if dangling:  # a kept model pointing at a dropped one would fail to draw: say which
        raise RuntimeError(f"saved widget state: kept models refer to dropped ones: {', '.join(dangling[:5])}")
    if kept:
        widgets[WIDGET_STATE]["state"] = kept
    else:
        nb.metadata.pop("widgets", None)
    return len(kept_views), len(kept)


def execute(path: Path) -> None:
    """Run every cell in a fresh kernel (in the notebook's folder), keep the widget state."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # timestamps of an earlier run would change on every run: none kept
        cell.metadata.pop("execution", None)
    NotebookClient(nb, kernel_name=KERNEL, timeout=600, store_widget_state=True, record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        # nbval compares a widget's text repr, which changes with library versions: not these cells
        if any(WIDGET_VIEW in o.get("data", {}) for o in cell.get("outputs", [])):
            tags = cell.metadata.setdefault("tags", [])
            if "nbval-ignore-output" not in tags:
                tags.append("nbval-ignore-output")
                print(f"{path.name}: tagged a widget cell nbval-ignore-output")
    path.write_text(committed_form(nb), encoding="utf-8")


# ---- the static site -------------------------------------------------------------------------

def _npm_asset(spec: str, cache: Path) -> Path:
    """The unpacked npm package ``spec`` (fetched once with `npm pack` into ``cache``)."""
    target = cache / spec.replace("/", "__")
    if (target / "package" / "package.json").is_file():
        return target / "package"
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("course.py: the static site needs npm once, to fetch the widget manager "
                 f"({HTML_MANAGER}): install it (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", spec, "--silent"], cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"course.py: npm pack {spec} failed:\n{done.stderr.strip()}")
        tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.unpack_archive(tarball, target)
    return target / "package"


def site_assets(static: Path) -> None:
    """require.js, the widget manager, and bqplot's (and bqscales') AMD modules into ``static``."""
    cache = REPO / ".venv" / "site-npm"
    manager = _npm_asset(HTML_MANAGER, cache)
    requirejs = _npm_asset(REQUIREJS, cache)
    shutil.rmtree(static, ignore_errors=True)
    (static / "html-manager").mkdir(parents=True)
    for f in (manager / "dist").iterdir():  # embed-amd.js and the icon fonts it loads
        if f.name == "embed-amd.js" or f.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}:
            shutil.copy2(f, static / "html-manager" / f.name)
    shutil.copy2(requirejs / "require.js", static / "require.js")
    nbextensions = Path(sys.prefix) / "share" / "jupyter" / "nbextensions"
    for module in ("bqplot", "bqscales"):
        source = nbextensions / module / "index.js"
        if not source.is_file():
            sys.exit(f"course.py: {source} is missing: is {module} installed in this environment?")
        (static / module).mkdir()
        shutil.copy2(source, static / module / "index.js")


# bqplot and bqscales from the site's own files; "@jupyter-widgets" places the widget manager's
# icon fonts (it finds them next to where require.js thinks its modules live).
REQUIRE_CONFIG = ('<script>require.config({paths: {"@jupyter-widgets": "_static/html-manager", '
                  'bqplot: "_static/bqplot/index", bqscales: "_static/bqscales/index"}});</script>')


def page(path: Path) -> str:
    """One notebook as a static page whose widgets render from the saved state, offline."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    exporter = HTMLExporter(template_name="lab", require_js_url="_static/require.js",
                            widget_renderer_url="_static/html-manager/embed-amd.js",
                            mathjax_url="", mermaid_js_url="")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
    tag = '<script src="_static/require.js"></script>'
    if tag not in body:
        raise RuntimeError(f"{path.name}: nbconvert's template no longer loads require.js as expected")
    return body.replace(tag, tag + "\n" + REQUIRE_CONFIG, 1)


def title(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def index(pages: list[Path]) -> str:
    items = "\n".join(f'  <li><a href="{p.stem}.html">{html.escape(title(p))}</a></li>' for p in pages)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>hugelab: the course</title>
<style>body {{ font-family: sans-serif; max-width: 46em; margin: 2em auto; line-height: 1.5 }}</style></head>
<body>
<h1>hugelab: how Linux counts hugetlb reservations</h1>
<p>The course's notebooks as saved after running them: the charts and tables are drawn from the
widget state saved then, with no Python running. To change things, open the notebooks in
JupyterLab (<code>hugelab lab</code>).</p>
<ol>
{items}
</ol>
</body>
</html>
"""


def shows_widgets_without_state(nb: dict) -> bool:
    """A notebook that displays widgets but saved no state for them (a page would show their text).

    A notebook with no widget at all (the glossary) needs no state.
    """
    shows = any(WIDGET_VIEW in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
    return shows and "widgets" not in nb["metadata"]


def path_order(notebooks: list[Path]) -> list[Path]:
    """The course's path first, in the order of its numbers (00, then "# 1." ...), then the
    notebooks beside it, then the glossary: the order 00-start-here teaches them in."""
    from hugelab.teaching.notebook import course

    by_stem = {p.stem: p for p in notebooks}
    path, beside = course(str(NOTEBOOKS))
    stems = [stem for _, stem, _ in path] + [stem for stem, _ in beside]
    stems += sorted(set(by_stem) - set(stems))  # the glossary, and whatever is neither
    return [by_stem[stem] for stem in stems if stem in by_stem]


def build_site(out: Path) -> float:
    """Build the site into ``out``; the seconds it took."""
    start = time.monotonic()
    notebooks = path_order(course_notebooks())
    unsaved = [p.name for p in notebooks if shows_widgets_without_state(json.loads(p.read_text(encoding="utf-8")))]
    if unsaved:
        sys.exit(f"course.py: no saved widget state in {', '.join(unsaved)}: run scripts/execute-notebooks.sh")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.html"):
        old.unlink()
    site_assets(out / "_static")
    for path in notebooks:
        (out / f"{path.stem}.html").write_text(page(path), encoding="utf-8")
    (out / "index.html").write_text(index(notebooks), encoding="utf-8")
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("execute", "normalize", "check"):
        sub.add_parser(name).add_argument("notebooks", nargs="*")
    sub.add_parser("site").add_argument("out", nargs="?", default=str(REPO / "site"))
    args = parser.parse_args(argv)
    if args.command == "site":
        out = Path(args.out).resolve()
        seconds = build_site(out)
        print(f"static site: {out / 'index.html'} ({len(course_notebooks())} pages, {seconds:.1f} s)")
        return 0
    paths = course_notebooks(args.notebooks)
    if args.command == "check":
        import nbformat

        bad = [p.name for p in paths
               if committed_form(nbformat.read(p, as_version=4)) != p.read_text(encoding="utf-8")]
        for name in bad:
            print(f"{name}: not in the committed form (JupyterLab's saved form, widget state only for what "
                  "draws without a kernel): run scripts/execute-notebooks.sh", file=sys.stderr)
        return 1 if bad else 0
    for path in paths:
        start = time.monotonic()
        if args.command == "execute":
            execute(path)
            size = path.stat().st_size
            print(f"{path.name}: executed in {time.monotonic() - start:.1f} s, {size / 1024:.0f} KiB")
        elif normalize(path):
            print(f"{path.name}: rewritten in the committed form")
    return 0


if __name__ == "__main__":
    sys.exit(main())
