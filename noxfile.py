"""The test suite on every supported Python: ``nox`` (``pip install nox``).

One session per version of ``requires-python`` (the versions the wheels are built for):
each installs fastgelu from this checkout with the extras of the README's test command
into a fresh virtual environment and runs that command. A version this machine lacks is
skipped (an error under CI=true, nox's default there). Interpreters are found on PATH
(``python3.12``) and in pyenv's versions folder, whether pyenv has them active or not.

    nox                  # every version
    nox -s tests-3.12    # one
    nox -- -x -k dask    # arguments after -- go to pytest
    nox -R               # again, reusing the environments (no reinstall)
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

nox.options.sessions = ["tests"]


def _pyenv_bins() -> list[str]:
    """The bin folders of pyenv's CPython installs of PYTHONS, newest patch release first.

    pyenv's shims (python3.10) exist for every installed version but run only the active
    ones; nox would find the shim and fail, so the installs themselves go on PATH."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        try:
            root = subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            root = None
    if not root:
        return []
    bins = []
    for version in PYTHONS:
        found = glob.glob(os.path.join(root, "versions", version + ".*", "bin",
                                       "python" + version))
        found.sort(key=lambda p: [int(part) for part in p.split(os.sep)[-3].split(".")
                                  if part.isdigit()], reverse=True)
        bins += [os.path.dirname(p) for p in found[:1]]
    return bins


os.environ["PATH"] = os.pathsep.join(_pyenv_bins() + [os.environ.get("PATH", "")])


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """pip install ".[test,dask]" && python -m pytest --benchmark-disable (README.md)."""
    session.install(".[test,dask]")
    session.run("python", "-c", "import fastgelu; fastgelu.show_config()")
    session.run("python", "-m", "pytest", "--benchmark-disable", *session.posargs)
