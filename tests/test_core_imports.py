"""The core runs anywhere: importing it loads no widget or chart library."""

import subprocess
import sys

CORE = ["hugelab", "hugelab.cli", "hugelab.replay", "hugelab.model", "hugelab.kernel", "hugelab.verify",
        "hugelab.hunt", "hugelab.exercise"]


def test_core_imports_no_ipywidgets_bqplot_or_traitlets():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in CORE) +
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'bqplot', 'traitlets', "
            "'IPython', 'numpy')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_core_modules_import_only_the_standard_library():
    code = ("import sys\nbefore = set(sys.modules)\n" + "".join(f"import {m}\n" for m in CORE) +
            "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
            "print(sorted(m for m in new if m != 'hugelab' and m not in sys.stdlib_module_names))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
