"""One build step on top of pyproject.toml: the course goes into the wheel.

notebooks/ stays the single source of the course (the course engineer edits only it, nbval and
the browser tests run it in place). When setuptools builds the package (a wheel, directly or
from the sdist, which carries notebooks/ through MANIFEST.in), this copies notebooks/ into the
built package as hugelab/course/, which `hugelab lab` copies out for a learner. No symlink and no
second copy in git. An editable install skips the copy: hugelab.teaching.lab then reads notebooks/ itself.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SKIP = shutil.ignore_patterns(".ipynb_checkpoints", ".hugelab", "__pycache__")


class build_py_with_course(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        source = Path(__file__).resolve().parent / "notebooks"
        if not (source / "00-start-here.ipynb").is_file():
            raise SystemExit(f"hugelab build: the course is missing ({source}/00-start-here.ipynb)")
        target = Path(self.build_lib) / "hugelab" / "course"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, ignore=SKIP)


setup(cmdclass={"build_py": build_py_with_course})
