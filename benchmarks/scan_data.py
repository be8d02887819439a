"""Generated data for the scan benchmark: a large image written as streamed layers, and
OSV advisories by the hundred thousand, some of them hitting that image's packages.

Everything is deterministic (fixed seeds, names and versions derived from indexes), so
two runs scan byte-identical layers against the same advisories, and the number of
findings the engine must report is known in advance (`Corpus.expected_findings`).

The image (`ImageSpec`):

- a base layer: Debian 12's `os-release` and a dpkg `status` of N binary packages
  (default 2,000) built from about N/3 source packages, with `Source:` fields (some
  with a binNMU version in parentheses), epochs and `+debNNuM` revisions;
- a big layer (default 200 MiB uncompressed): Python distributions (`*.dist-info/METADATA`)
  and npm packages (`node_modules/*/package.json`) among thousands of small source
  files, and binary blobs of pseudo-random bytes that gzip cannot shrink.

Layers are written to files through `tarfile`'s stream mode and `gzip`, one 1 MiB
chunk at a time, hashing both the compressed blob (its digest) and the tar (its
diff_id) on the way: nothing close to the layer's size is ever held in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

MiB = 1024 * 1024
DEBIAN = "Debian:12"
PYPI = "PyPI"
NPM = "npm"

_WORDS = (
    "ssl", "curl", "xml", "zlib", "tls", "krb", "sasl", "pcre", "expat", "sqlite", "ffi", "gmp",
    "nettle", "idn", "psl", "ssh", "uuid", "blkid", "mount", "cap", "acl", "attr", "selinux", "audit",
    "pam", "crypt", "gcrypt", "gpg", "ksba", "assuan", "npth", "bz", "lzma", "zstd", "lz", "magic",
    "yaml", "json", "png", "jpeg", "tiff", "webp", "freetype", "fontconfig", "harfbuzz", "cairo",
)  # fmt: skip
_DEB_SUFFIXES = ("", "-common", "-dev", "-bin", "-doc")
CVSS_VECTORS = (
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",  # 9.8 critical
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",  # 7.5 high
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N",  # 4.2 medium
    "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N",  # 2.5 low
)
URGENCIES = ("low", "medium", "high", "unimportant", "not yet assigned")


# --- the image ------------------------------------------------------------------------


@dataclass(frozen=True)
class DebSource:
    """One dpkg source package and the binary packages the image installs from it."""

    name: str
    version: str
    binaries: tuple[str, ...]
    binnmu: bool  # binaries carry `+b1` and name the source version in `Source: name (version)`


@dataclass(frozen=True)
class LangPackage:
    ecosystem: str
    name: str
    version: str


@dataclass(frozen=True)
class ImageSpec:
    """What the generated image installs."""

    sources: tuple[DebSource, ...]
    python: tuple[LangPackage, ...]
    npm: tuple[LangPackage, ...]
    layer_bytes: int

    @property
    def deb_packages(self) -> int:
        return sum(len(source.binaries) for source in self.sources)

    @property
    def packages(self) -> int:
        return self.deb_packages + len(self.python) + len(self.npm)


def _deb_version(k: int) -> str:
    epoch = "1:" if k % 10 == 0 else ""
    revision = f"{1 + k % 4}+deb12u{1 + k % 3}" if k % 3 == 0 else f"{1 + k % 4}"
    upstream = f"{1 + k % 9}.{k % 23}.{k % 7}" + ("+dfsg" if k % 11 == 0 else "")
    return f"{epoch}{upstream}-{revision}"


def image_spec(
    deb_packages: int = 2000, python: int = 300, npm: int = 500, layer_mib: int = 200
) -> ImageSpec:
    """Sources get 1 to 5 binaries each (3 on average) until `deb_packages` are installed."""
    sources: list[DebSource] = []
    installed = 0
    k = 0
    while installed < deb_packages:
        name = f"{_WORDS[k % len(_WORDS)]}{k}"
        count = min(1 + k % 5, deb_packages - installed)
        binaries = tuple(
            (f"lib{name}" if j == 0 and k % 2 else f"{name}{_DEB_SUFFIXES[j]}") for j in range(count)
        )
        sources.append(DebSource(name, _deb_version(k), binaries, binnmu=k % 7 == 0))
        installed += count
        k += 1
    pythons = tuple(
        LangPackage(PYPI, f"Py{_WORDS[i % len(_WORDS)].title()}_Tools{i}", f"{i % 5}.{i % 13}.{i % 3}")
        for i in range(python)
    )
    npms = tuple(
        LangPackage(
            NPM,
            f"@scope{i % 7}/{_WORDS[i % len(_WORDS)]}-js{i}"
            if i % 4 == 0
            else f"{_WORDS[i % len(_WORDS)]}-js{i}",
            f"{i % 4}.{i % 20}.{i % 9}",
        )
        for i in range(npm)
    )
    return ImageSpec(tuple(sources), pythons, npms, layer_mib * MiB)


def dpkg_status(spec: ImageSpec) -> bytes:
    """A realistic `var/lib/dpkg/status`: every field a real one has, descriptions included."""
    stanzas: list[str] = []
    for source in spec.sources:
        for binary in source.binaries:
            version = source.version + "+b1" if source.binnmu else source.version
            if binary == source.name and not source.binnmu:
                source_line = ""
            elif source.binnmu:
                source_line = f"Source: {source.name} ({source.version})\n"
            else:
                source_line = f"Source: {source.name}\n"
            stanzas.append(
                f"Package: {binary}\n"
                "Status: install ok installed\n"
                "Priority: optional\n"
                "Section: libs\n"
                f"Installed-Size: {100 + len(binary) * 37}\n"
                "Maintainer: Debian Benchmark Maintainers <bench@example.invalid>\n"
                "Architecture: amd64\n"
                "Multi-Arch: same\n"
                f"{source_line}"
                f"Version: {version}\n"
                "Depends: libc6 (>= 2.36), zlib1g (>= 1:1.2.0)\n"
                f"Description: {binary} - generated for the scan benchmark\n"
                " This package does nothing; it exists so the scanner has a realistic\n"
                " dpkg database to parse, with long descriptions like real ones.\n"
                " .\n"
                " Its source package is listed in the Source field when it differs.\n"
            )
    return "\n".join(stanzas).encode()


OS_RELEASE = (
    b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
    b'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n'
)


class _HashingWriter(io.RawIOBase):
    """Counts and hashes what passes through, on its way to `target`."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha256.update(view)
        self.target.write(view)
        self.count += len(view)
        return len(view)


class _RandomBytes(io.RawIOBase):
    """`size` pseudo-random bytes, made as they are read (what `tarfile.addfile` copies)."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng = rng
        self.left = size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return self.rng.randbytes(size)


@dataclass
class WrittenLayer:
    """A layer blob on disk with what a manifest and config need to reference it."""

    path: Path
    digest: str  # sha256 of the compressed blob
    diff_id: str  # sha256 of the tar
    size: int  # compressed bytes
    tar_bytes: int
    entries: int = 0

    def open(self) -> BinaryIO:
        return self.path.open("rb")


class _LayerWriter:
    """Writes tar entries straight into a gzip stream on disk."""

    def __init__(self, path: Path, compresslevel: int) -> None:
        self.path = path
        self._file = path.open("wb")
        self._blob = _HashingWriter(self._file)
        self._gzip = gzip.GzipFile(fileobj=self._blob, mode="wb", compresslevel=compresslevel, mtime=0)  # type: ignore[arg-type]
        self._tar_hash = _HashingWriter(self._gzip)  # type: ignore[arg-type]
        self._tar = tarfile.open(fileobj=self._tar_hash, mode="w|", format=tarfile.PAX_FORMAT, bufsize=MiB)  # type: ignore[call-overload]  # noqa: SIM115  (closed in close())
        self.entries = 0
        self._dirs: set[str] = set()

    def _directory(self, path: str) -> None:
        parent = path.rpartition("/")[0]
        if not parent or parent in self._dirs:
            return
        self._directory(parent)
        self._dirs.add(parent)
        info = tarfile.TarInfo(parent + "/")
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        self._tar.addfile(info)
        self.entries += 1

    def add(
        self,
        path: str,
        data: bytes | None = None,
        *,
        random_size: int = 0,
        rng: random.Random | None = None,
        mode: int = 0o644,
    ) -> None:
        self._directory(path)
        info = tarfile.TarInfo(path)
        info.mode = mode
        if data is not None:
            info.size = len(data)
            self._tar.addfile(info, io.BytesIO(data))
        else:
            assert rng is not None
            info.size = random_size
            self._tar.addfile(info, _RandomBytes(rng, random_size))  # type: ignore[arg-type]
        self.entries += 1

    def close(self) -> WrittenLayer:
        self._tar.close()
        self._gzip.close()
        self._file.close()
        return WrittenLayer(
            self.path,
            "sha256:" + self._blob.sha256.hexdigest(),
            "sha256:" + self._tar_hash.sha256.hexdigest(),
            self._blob.count,
            self._tar_hash.count,
            self.entries,
        )


def _python_metadata(package: LangPackage) -> bytes:
    return (
        f"Metadata-Version: 2.1\nName: {package.name}\nVersion: {package.version}\n"
        "Summary: generated for the scan benchmark\nLicense: MIT\nRequires-Python: >=3.8\n\n"
        + "A long description that the scanner must skip. "
        * 40
    ).encode()


def _npm_manifest(package: LangPackage) -> bytes:
    return json.dumps(
        {
            "name": package.name,
            "version": package.version,
            "description": "generated for the scan benchmark",
            "main": "index.js",
            "license": "MIT",
            "dependencies": {"left-pad": "^1.3.0"},
            "scripts": {"test": "node test.js"},
        },
        indent=2,
    ).encode()


def _source_file(rng: random.Random, size: int) -> bytes:
    """Text that compresses like source code does (about 4x)."""
    words = [rng.choice(_WORDS) for _ in range(64)]
    line = (" ".join(words) + "\n").encode()
    return (line * (size // len(line) + 1))[:size]


def write_base_layer(spec: ImageSpec, directory: Path, compresslevel: int = 6) -> WrittenLayer:
    writer = _LayerWriter(directory / "base.tar.gz", compresslevel)
    writer.add("etc/os-release", OS_RELEASE)
    writer.add("var/lib/dpkg/status", dpkg_status(spec))
    return writer.close()


def write_big_layer(
    spec: ImageSpec, directory: Path, compresslevel: int = 1, seed: int = 2026
) -> WrittenLayer:
    """The application layer: language packages among small files, then random blobs up
    to `spec.layer_bytes` of file content in all."""
    rng = random.Random(seed)
    writer = _LayerWriter(directory / "app.tar.gz", compresslevel)
    written = 0
    site = "usr/local/lib/python3.11/site-packages"
    for package in spec.python:
        module = package.name.lower()
        info = f"{site}/{package.name}-{package.version}.dist-info"
        for path, data in (
            (f"{info}/METADATA", _python_metadata(package)),
            (f"{info}/RECORD", f"{module}/__init__.py,,\n".encode()),
            (f"{site}/{module}/__init__.py", _source_file(rng, 6000)),
            (f"{site}/{module}/core.py", _source_file(rng, 12000)),
        ):
            writer.add(path, data)
            written += len(data)
    for package in spec.npm:
        root = f"srv/app/node_modules/{package.name}"
        for path, data in (
            (f"{root}/package.json", _npm_manifest(package)),
            (f"{root}/index.js", _source_file(rng, 4000)),
            (f"{root}/lib/util.js", _source_file(rng, 9000)),
            (f"{root}/README.md", _source_file(rng, 3000)),
        ):
            writer.add(path, data)
            written += len(data)
    blob = 0
    while written < spec.layer_bytes:
        size = min(MiB + rng.randrange(MiB), spec.layer_bytes - written)
        writer.add(f"opt/app/lib/libbench{blob:04d}.so", random_size=size, rng=rng)
        written += size
        blob += 1
    return writer.close()


# --- the advisories ---------------------------------------------------------------------


@dataclass
class Corpus:
    """Advisory generation plan: which advisories hit the image and what they should find.

    Advisory `i` targets an image package when `i % hit_every == 0` (cycling through
    the image's sources and language packages); of those, two in five affect the
    installed version (a `fixed` above it), the rest are fixed at or below it or list
    other versions. Every other advisory names one of `other_names` packages the image
    does not have.
    """

    spec: ImageSpec
    hit_every: int = 20
    other_names: int = 40_000
    _targets: list[tuple[str, str, str, int]] = field(
        default_factory=list
    )  # ecosystem, name, version, binaries

    def __post_init__(self) -> None:
        self._targets = [(DEBIAN, s.name, s.version, len(s.binaries)) for s in self.spec.sources]
        self._targets += [(p.ecosystem, p.name, p.version, 1) for p in (*self.spec.python, *self.spec.npm)]

    def _affects(self, i: int) -> bool:
        return (i // self.hit_every) % 5 in (0, 3)

    def advisory(self, i: int) -> dict[str, Any]:
        """OSV record number `i` (an invented id, never a real CVE)."""
        hit = i % self.hit_every == 0
        if hit:
            ecosystem, name, version, _ = self._targets[(i // self.hit_every) % len(self._targets)]
            affected = self._affected_hit(i, ecosystem, name, version)
        else:
            ecosystem = (DEBIAN, DEBIAN, PYPI, NPM)[i % 4]
            n = (i * 7919) % self.other_names  # about 5 advisories per package, as in real databases
            name = f"{_WORDS[n % len(_WORDS)]}-other{n}"
            affected = [
                self._entry(ecosystem, name, [{"introduced": "0"}, {"fixed": _fix_for(ecosystem, i)}])
            ]
        record: dict[str, Any] = {
            "schema_version": "1.6.0",
            "id": f"BENCH-{i:07d}",
            "modified": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z",
            "published": "2025-06-01T00:00:00Z",
            "aliases": [f"CVE-2099-{i:07d}"],
            "summary": f"{name}: generated issue number {i}",
            "details": f"A generated advisory for the scan benchmark affecting {name}.",
            "affected": affected,
            "references": [{"type": "ADVISORY", "url": f"https://advisories.example/BENCH-{i:07d}"}],
        }
        if ecosystem == DEBIAN and i % 3 == 0:
            record["affected"][0]["ecosystem_specific"] = {"urgency": URGENCIES[i % len(URGENCIES)]}
        else:
            record["severity"] = [{"type": "CVSS_V3", "score": CVSS_VECTORS[i % len(CVSS_VECTORS)]}]
        return record

    @staticmethod
    def _entry(ecosystem: str, name: str, events: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
        return {
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": events}],
            **extra,
        }

    def _affected_hit(self, i: int, ecosystem: str, name: str, version: str) -> list[dict[str, Any]]:
        if self._affects(i):
            if (i // self.hit_every) % 2:
                events = [{"introduced": "0"}, {"fixed": _above(ecosystem, version)}]
            else:  # still open: a range without a fix
                events = [{"introduced": "0"}]
        elif (i // self.hit_every) % 2:
            events = [{"introduced": "0"}, {"fixed": version}]  # fixed in exactly this version
        else:
            events = [{"introduced": "0"}, {"last_affected": _below(ecosystem, version)}]
        return [self._entry(ecosystem, name, events, versions=[_below(ecosystem, version)])]

    def advisories(self, count: int) -> Iterator[dict[str, Any]]:
        for i in range(count):
            yield self.advisory(i)

    def hits(self, count: int) -> Iterator[dict[str, Any]]:
        """Only the advisories among the first `count` that name an image package."""
        for i in range(0, count, self.hit_every):
            yield self.advisory(i)

    def expected(self, count: int) -> tuple[int, int]:
        """(matches by source package, findings by installed package) among the first `count`."""
        matches = findings = 0
        for i in range(0, count, self.hit_every):
            if self._affects(i):
                matches += 1
                findings += self._targets[(i // self.hit_every) % len(self._targets)][3]
        return matches, findings


def _above(ecosystem: str, version: str) -> str:
    if ecosystem == DEBIAN:
        return version + "+deb12u9"
    if ecosystem == PYPI:
        return version + ".post1"
    major, minor, patch = version.split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def _below(ecosystem: str, version: str) -> str:
    if ecosystem == DEBIAN:
        return version + "~rc1"
    if ecosystem == PYPI:
        return version + "rc1"
    return version + "-rc.1"


def _fix_for(ecosystem: str, i: int) -> str:
    if ecosystem == DEBIAN:
        return f"{1 + i % 9}.{i % 31}.{i % 7}-{1 + i % 3}+deb12u1"
    return f"{i % 9}.{i % 31}.{i % 7}"


# --- the polyglot image: rpm, Go and Java, for the scanner's coverage -----------------------


ROCKY_OS_RELEASE = 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.3"\n'


def write_polyglot_layer(
    directory: Path, *, rpm_packages: int = 2000, go_binaries: int = 50, jars: int = 200, seed: int = 2026
) -> WrittenLayer:
    """A Rocky Linux 9 layer with an `rpmdb.sqlite` of `rpm_packages` packages (headers of
    about 30 KiB, as real ones with their file lists are), `go_binaries` Go executables
    (built by Debian's Go when installed, else the test suite's minimal ELF with Go build
    information) and `jars` Java archives: one in ten a Spring Boot fat jar holding ten
    nested jars, the rest plain Maven jars with some class files."""
    from tests.vulns import ecosystems as eco

    rng = random.Random(seed)
    writer = _LayerWriter(directory / "polyglot.tar.gz", 6)
    writer.add("etc/os-release", ROCKY_OS_RELEASE.encode())
    changelog = _source_file(rng, 8000).decode()
    headers = [
        eco.rpm_header(
            f"rpmpkg{n:04d}", f"1.{n % 40}.{n % 7}", f"{n % 9 + 1}.el9", files=600, changelog=changelog
        )
        for n in range(rpm_packages)
    ]
    writer.add("var/lib/rpm/rpmdb.sqlite", eco.rpm_sqlite(headers))
    del headers
    binary = (
        eco.go_binary()
        if eco.have_go()
        else eco.go_buildinfo_elf("go1.21.5", [("example.com/greeting", "v1.4.2")])
    )
    for n in range(go_binaries):
        writer.add(f"usr/local/bin/gotool{n:02d}", binary, mode=0o755)
    for n in range(jars):
        if n % 10 == 0:
            nested = [
                (
                    f"BOOT-INF/lib/dep{n:03d}-{m}.jar",
                    eco.maven_jar("org.bench", f"dep{n:03d}-{m}", f"1.{m}.0"),
                )
                for m in range(10)
            ]
            data = eco.jar(
                eco.pom_properties("com.bench", f"app{n:03d}", "1.0.0"),
                *nested,
                stored=tuple(name for name, _ in nested),
            )
        else:
            classes = [(f"org/bench/lib{n:03d}/C{c}.class", _source_file(rng, 3000)) for c in range(20)]
            data = eco.maven_jar("org.bench", f"lib{n:03d}", f"2.{n % 10}.1", *classes)
        writer.add(f"opt/app/lib/lib{n:03d}.jar", data)
    return writer.close()
