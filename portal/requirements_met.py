"""Exit 0 when the running interpreter already has every pin of a requirements file.

`make deps` runs it before `pip install`: a virtualenv that is already complete
(a re-run, a fresh clone given an existing `.venv`, or `VENV=...`) is used as it is,
with no network and no stamp file whose modification time a clone or checkout
would make stale. Run as a script (``python portal/requirements_met.py FILE...``),
so it imports nothing of Wharf and works before anything is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts portal/ first on sys.path, where portal/logging.py would
# stand in for the standard library's logging for anything imported below.
if __name__ == "__main__" and sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

from importlib.metadata import PackageNotFoundError, version


def _lines(path: Path) -> list[str]:
    """The requirement lines of a file, following ``-r other.txt`` includes."""
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines.extend(_lines(path.parent / line.split(None, 1)[1]))
        else:
            lines.append(line)
    return lines


def missing(path: Path) -> list[str]:
    """The requirements of `path` this interpreter does not satisfy."""
    # packaging is itself a pinned runtime requirement: without it, nothing is installed yet.
    from packaging.requirements import Requirement

    unmet: list[str] = []
    for line in _lines(path):
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            unmet.append(line)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            unmet.append(f"{line} (installed: {installed})")
    return unmet


def main(paths: list[str]) -> int:
    try:
        unmet = [line for path in paths for line in missing(Path(path))]
    except ImportError:
        return 1
    for line in unmet:
        print(f"not installed: {line}", file=sys.stderr)
    return 1 if unmet else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
