"""The core runs anywhere: importing it loads no widget or chart library."""

import subprocess
import sys

CORE = ["hugelab", "hugelab.cli", "hugelab.replay", "hugelab.model", "hugelab.model.reservation",
        "hugelab.trace", "hugelab.realkernel", "hugelab.tools.verify", "hugelab.tools.tables", "hugelab.tools.hunt",
        "hugelab.teaching.exercise", "hugelab.teaching.explorer", "hugelab.teaching.explorer_views",
        "hugelab.teaching.predict", "hugelab.teaching.notebook"]


def modules_loaded_by_the_core(expression: str) -> str:
    """Import the core in a fresh Python; print ``expression`` over the modules it loaded."""
    code = ("import sys\nbefore = set(sys.modules)\n" + "".join(f"import {m}\n" for m in CORE) +
            "new = {m.split('.')[0] for m in set(sys.modules) - before}\n" + f"print({expression})")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_core_imports_no_ipywidgets_bqplot_or_traitlets():
    banned = "('ipywidgets', 'bqplot', 'traitlets', 'IPython', 'numpy')"
    assert modules_loaded_by_the_core(f"sorted(m for m in new if m in {banned})") == "[]"


def test_core_modules_import_only_the_standard_library():
    assert modules_loaded_by_the_core(
        "sorted(m for m in new if m != 'hugelab' and m not in sys.stdlib_module_names)") == "[]"
