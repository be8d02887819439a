"""Ruby gems: the `specifications/*.gemspec` files RubyGems writes for installed gems.

An installed gem's specification is Ruby source RubyGems generated
(`Gem::Specification.new do |s| s.name = "rack".freeze; s.version = "2.2.8" ...`),
under any gem home (`/usr/local/bundle`, `/usr/lib/ruby/gems/3.2.0`,
`/var/lib/gems/3.1.0`, `vendor/bundle/ruby/3.2.0`) and its `specifications/default/`
for gems bundled with Ruby. Nothing is evaluated: the `name` and `version`
assignments are read as text, as Trivy does; a file without them is named by its
file name (`rack-2.2.8.gemspec`).
"""

from __future__ import annotations

import re

from ..layers import KeptFile
from .packages import GEM, Package
from .stanzas import text_of

RUBYGEMS_ECOSYSTEM = "RubyGems"
_NAME = re.compile(r"""^\s*\w+\.name\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_VERSION = re.compile(r"""^\s*\w+\.version\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_FILE_NAME = re.compile(r"^(?P<name>.+)-(?P<version>\d[0-9A-Za-z.]*)\.gemspec$")


def is_gemspec(path: str) -> bool:
    """`.../specifications/<gem>.gemspec` (or `specifications/default/<gem>.gemspec`)."""
    if not path.endswith(".gemspec"):
        return False
    parts = path.split("/")
    return len(parts) >= 2 and ("specifications" in parts[-3:-1])


def packages_from(kept: KeptFile) -> list[Package]:
    text = text_of(kept.data)
    name_match, version_match = _NAME.search(text), _VERSION.search(text)
    name = name_match.group(1) if name_match else ""
    version = version_match.group(1) if version_match else ""
    if not name or not version:
        from_file = _FILE_NAME.match(kept.path.rsplit("/", 1)[-1])
        if from_file is None:
            return []
        name, version = name or from_file.group("name"), version or from_file.group("version")
    return [
        Package(
            kind=GEM,
            name=name,
            version=version,
            source_name=name,
            source_version=version,
            ecosystem=RUBYGEMS_ECOSYSTEM,
            layer=kept.layer,
            path=kept.path,
        )
    ]
