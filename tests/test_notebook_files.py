"""The committed notebooks, read as files: in JupyterLab's saved form, with saved widget state.

The browser test (browser/test_clean_notebooks.py) holds the same against JupyterLab itself;
this one is cheap and names the fix: run scripts/execute-notebooks.sh.
"""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

course = pytest.importorskip("course", reason="scripts/course.py needs nbformat and jupyter_client")
pytest.importorskip("nbformat")
NOTEBOOKS = course.course_notebooks()
FIX = "run scripts/execute-notebooks.sh (tests/README.md)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_jupyterlabs_saved_form(path):
    import nbformat

    assert course.saved_form(nbformat.read(path, as_version=4)) == path.read_text(encoding="utf-8"), FIX


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_executed_and_every_widget_shown_has_its_saved_state(path):
    """So that GitHub, nbviewer and the static site draw the widgets with no kernel."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    unrun = [i for i, c in enumerate(code) if c["execution_count"] is None]
    assert not unrun, f"{path.name}: code cells {unrun} were not executed: {FIX}"
    view = "application/vnd.jupyter.widget-view+json"
    views = [o["data"][view]["model_id"] for c in code for o in c.get("outputs", []) if view in o.get("data", {})]
    state = nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    missing = [v for v in views if v not in state]
    assert not missing, f"{path.name}: {len(missing)} widget view(s) without saved state: {FIX}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_widget_cells_are_not_compared_by_nbval(path):
    """Widget reprs and model ids change between runs and library versions."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for c in nb["cells"]:
        if any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c.get("outputs", [])):
            assert "nbval-ignore-output" in c["metadata"].get("tags", []), "".join(c["source"])[:80]


# What JavaScript's JSON.stringify writes for each (measured with node 20).
JS = [(1.0, "1"), (0.5, "0.5"), (1e-7, "1e-7"), (1.5e-5, "0.000015"), (1e21, "1e+21"), (1.2345e22, "1.2345e+22"),
      (18446744073709551610, "18446744073709552000"), (2**53 + 1, "9007199254740992"), (1e16, "10000000000000000"),
      (0.1, "0.1"), (-3.0, "-3"), (1234567890000000.0, "1234567890000000"), (-1e-300, "-1e-300"),
      (2**60, "1152921504606847000"), (7, "7"), (True, "true")]


@pytest.mark.parametrize("number, text", JS)
def test_numbers_are_written_as_the_browser_writes_them(number, text):
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"x": number})
    nb.metadata["kernelspec"] = {}
    written = json.loads(course.saved_form(nb))  # valid JSON
    assert written["metadata"]["x"] == json.loads(text)
    assert f'"x": {text}\n' in course.saved_form(nb)


EXPLORERS = [p for p in NOTEBOOKS if "SplitExplorer(" in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("path", EXPLORERS, ids=lambda p: p.name)
def test_an_explorers_saved_layouts_keep_only_what_is_set(path):
    """A Layout's unset properties are left to the widget manager's defaults (all null): an explorer
    notebook was a fifth nulls. The static site (browser/test_site.py) still draws every widget."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    state = nb["metadata"]["widgets"][course.WIDGET_STATE]["state"]
    layouts = [m["state"] for m in state.values() if m["model_name"] == "LayoutModel"]
    assert len(layouts) > 100  # an explorer's
    assert not [s for s in layouts if None in s.values()], FIX
    assert any(s.get("width") == "50%" for s in layouts)  # what is set is kept


def test_trimming_drops_only_a_layouts_nulls():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {course.WIDGET_STATE: {"state": {
        "l": {"model_module": "@jupyter-widgets/base", "model_name": "LayoutModel",
              "state": {"_model_name": "LayoutModel", "width": "50%", "height": None, "_view_count": None}},
        "d": {"model_module": "@jupyter-widgets/controls", "model_name": "DropdownModel",
              "state": {"index": None, "description": "file"}}}}}
    assert course.trim_widget_state(nb) == 2
    state = nb.metadata["widgets"][course.WIDGET_STATE]["state"]
    assert state["l"]["state"] == {"_model_name": "LayoutModel", "width": "50%"}
    assert state["d"]["state"] == {"index": None, "description": "file"}
