"""zip_stream: a zip's members read one central directory record at a time, on real zip files
written by Python's zipfile and by Info-ZIP's `zip` (Debian package `zip`), including zip64
and data descriptors, and corrupt files that must fail with a readable reason."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from repositories.models import Advisory, OsvImport
from repositories.services.osv_import import import_osv
from repositories.services.zip_stream import ZipStreamError, is_zip, iter_members
from tests.scanning.support import ACTOR, MODIFIED
from tests.vulns.images import affects

LIMIT = 1024 * 1024


def _read_all(path: Path, limit: int = LIMIT) -> dict[str, bytes | str]:
    """name → data, or the problem when a member cannot be read."""
    return {
        member.name: data if data is not None else problem
        for member, data, problem in iter_members(path, limit)
    }


def _as_zipfile_reads(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


class _Unseekable(io.RawIOBase):
    """A write-only pipe-like stream: zipfile then writes data descriptors (flag bit 3)."""

    def __init__(self, target: io.BufferedWriter) -> None:
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # RawIOBase accepts any buffer
        return self.target.write(data)


def _info_zip(tmp_path: Path, content: bytes, *options: str, pipe: bool) -> Path:
    """A zip written by Info-ZIP's `zip`: of a file into a file, or from stdin into a pipe
    (as a streaming producer writes: it cannot seek back, so it adds data descriptors)."""
    binary = shutil.which("zip")
    if binary is None:
        pytest.skip("Info-ZIP's zip is not installed (Debian package zip)")
    out = tmp_path / "info-zip.zip"
    if pipe:
        zipped = subprocess.run(
            [binary, "-q", *options, "-", "-"], input=content, capture_output=True, check=True
        )
        out.write_bytes(zipped.stdout)
    else:
        (tmp_path / "record.json").write_bytes(content)
        subprocess.run([binary, "-q", *options, str(out), "record.json"], cwd=tmp_path, check=True)
    return out


def test_reads_stored_and_deflated_members_as_zipfile_does(tmp_path: Path) -> None:
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.json", b'{"id": "A"}', compress_type=zipfile.ZIP_STORED)
        archive.writestr("dir/b.json", b'{"id": "B"}' * 1000, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("dir/", b"")
        archive.writestr("empty.json", b"", compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("ünïcode.json", b"[]", compress_type=zipfile.ZIP_DEFLATED)
    assert _read_all(path) == _as_zipfile_reads(path)
    assert list(_read_all(path)) == ["a.json", "dir/b.json", "empty.json", "ünïcode.json"]
    assert is_zip(path)


def test_finds_the_end_record_past_a_comment_that_contains_its_signature(tmp_path: Path) -> None:
    path = tmp_path / "comment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.json", b"[1]")
        archive.comment = b"mentions PK\x05\x06 itself"  # zipfile cannot reopen this file
    assert _read_all(path) == {"a.json": b"[1]"}


def test_reads_members_written_with_data_descriptors(tmp_path: Path) -> None:
    path = tmp_path / "descriptors.zip"
    records = {f"{i}.json": json.dumps({"id": f"X-{i}", "pad": "x" * i}).encode() for i in range(50)}
    with (
        path.open("wb") as target,
        zipfile.ZipFile(_Unseekable(target), "w", compression=zipfile.ZIP_DEFLATED) as archive,  # type: ignore[arg-type]
    ):
        for name, data in records.items():
            archive.writestr(name, data)
    with zipfile.ZipFile(path) as archive:
        assert all(info.flag_bits & 0x8 for info in archive.infolist()), "no data descriptors were written"
    assert _read_all(path) == records


def test_reads_info_zip_streamed_members_with_data_descriptors(tmp_path: Path) -> None:
    content = json.dumps({"id": "STREAMED", "details": "y" * 5000}).encode()
    path = _info_zip(tmp_path, content, pipe=True)
    with zipfile.ZipFile(path) as archive:
        (info,) = archive.infolist()
    assert info.flag_bits & 0x8, "Info-ZIP wrote no data descriptor"
    assert _read_all(path) == {"-": content}


def test_reads_info_zip_zip64_extra_fields_and_end_records(tmp_path: Path) -> None:
    content = json.dumps({"id": "Z64", "details": "y" * 5000}).encode()
    path = _info_zip(tmp_path, content, "-fz", pipe=False)
    raw = path.read_bytes()
    central = raw.index(b"PK\x01\x02")
    assert raw[central + 24 : central + 28] == b"\xff" * 4, "the size is not in a zip64 extra field"
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw, "no zip64 end record and locator"
    assert raw[-6:-2] == b"\xff" * 4, "the plain end record does not defer to the zip64 one"
    assert _read_all(path) == {"record.json": content}


def test_info_zip_zip64_written_to_a_pipe_is_refused_readably(tmp_path: Path) -> None:
    # Info-ZIP 3.0 forced to zip64 on a pipe writes an end record pointing to a zip64
    # record it never writes; `unzip -t` rejects the file as well.
    path = _info_zip(tmp_path, b'{"id": "BROKEN"}', "-fz", pipe=True)
    with pytest.raises(ZipStreamError, match="zip64 end of central directory locator is missing"):
        list(iter_members(path, LIMIT))


def test_reads_a_zip64_archive_of_more_than_65535_members(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    count = 65_600
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for i in range(count):
            archive.writestr(f"{i}.json", str(i))
    assert b"PK\x06\x06" in path.read_bytes()[-200:], "zipfile wrote no zip64 end record"
    seen = 0
    tracemalloc.start()
    try:
        for member, data, _ in iter_members(path, LIMIT):
            assert data == member.name.removesuffix(".json").encode()
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    # zipfile.ZipFile would hold a ZipInfo per member here (about 40 MiB); one at a time is a few KiB.
    assert peak < 1024 * 1024, f"{peak:,} bytes allocated at the peak"


def test_members_that_cannot_be_read_come_back_with_their_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad-members.zip"
    good = b'{"id": "GOOD"}'
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.json", b"0" * (LIMIT + 10))
        archive.writestr("flipped.json", b'{"id": "FLIPPED", "x": "' + b"z" * 100 + b'"}')
        archive.writestr("stored.json", b'{"id": "STORED"}', compress_type=zipfile.ZIP_STORED)
        archive.writestr("good.json", good)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        flipped, stored = archive.getinfo("flipped.json"), archive.getinfo("stored.json")
    # Corrupt one byte inside the stored member's data: its CRC no longer matches.
    data_start = stored.header_offset + 30 + len(stored.filename) + len(stored.extra)
    raw[data_start + 3] ^= 0xFF
    # And the deflated member's data: the stream is broken or its CRC fails.
    raw[flipped.header_offset + 30 + len(flipped.filename) + 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    found = _read_all(path)
    assert found["big.json"] == f"larger than {LIMIT} bytes"
    assert found["stored.json"] == "CRC mismatch: the data is corrupt"
    assert isinstance(found["flipped.json"], str)
    assert found["good.json"] == good


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: b"PK\x03\x04 this is not really a zip", "no end of central directory record"),
        (lambda raw: raw[:10], "too short to be a zip file"),
        (lambda raw: raw[: len(raw) // 2], "no end of central directory record"),
    ],
    ids=["garbage", "tiny", "truncated"],
)
def test_a_file_that_is_not_a_whole_zip_fails_with_a_readable_reason(
    tmp_path: Path, damage: object, message: str
) -> None:
    source = tmp_path / "source.zip"
    with zipfile.ZipFile(source, "w") as archive:
        for i in range(20):
            archive.writestr(f"{i}.json", "{}" * 50)
    path = tmp_path / "broken.zip"
    path.write_bytes(damage(source.read_bytes()))  # type: ignore[operator]
    assert not is_zip(path)
    with pytest.raises(ZipStreamError, match=message):
        list(iter_members(path, LIMIT))


def test_a_broken_central_directory_fails_after_the_records_before_it(tmp_path: Path) -> None:
    path = tmp_path / "cd.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(3):
            archive.writestr(f"{i}.json", "{}")
    raw = bytearray(path.read_bytes())
    second = raw.index(b"PK\x01\x02", raw.index(b"PK\x01\x02") + 4)
    raw[second : second + 4] = b"XXXX"
    path.write_bytes(bytes(raw))
    members = iter_members(path, LIMIT)
    assert next(members)[1] == b"{}"
    with pytest.raises(ZipStreamError, match="central directory record 2 of 3 is missing or corrupt"):
        next(members)


# --- through import_osv ----------------------------------------------------------------


def _record(osv_id: str) -> bytes:
    return json.dumps(
        {"id": osv_id, "modified": MODIFIED, "affected": [affects("PyPI", "demo", "1.0")]}
    ).encode()


@pytest.mark.django_db
def test_import_counts_a_corrupt_member_invalid_and_imports_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("A.json", _record("WHARF-ZIP-A"))
        archive.writestr("B.json", _record("WHARF-ZIP-B"))
    raw = bytearray(path.read_bytes())
    raw[30 + len("A.json") + 5] ^= 0xFF  # inside A's data
    path.write_bytes(bytes(raw))
    run = import_osv(path, actor=ACTOR)
    assert (run.status, run.seen, run.created, run.invalid) == ("succeeded", 2, 1, 1)
    assert run.errors == [
        {"entry": "A.json", "reason": "cannot be read from the zip: CRC mismatch: the data is corrupt"}
    ]
    assert list(Advisory.objects.values_list("osv_id", flat=True)) == ["WHARF-ZIP-B"]


@pytest.mark.django_db
def test_import_of_a_zip_whose_directory_breaks_half_way_fails_readably_and_keeps_earlier_batches(
    tmp_path: Path,
) -> None:
    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i in range(6):
            archive.writestr(f"{i}.json", _record(f"WHARF-ZIP-{i}"))
    raw = bytearray(path.read_bytes())
    at = -1
    for _ in range(5):  # the fifth central directory record
        at = raw.index(b"PK\x01\x02", at + 1)
    raw[at : at + 4] = b"XXXX"
    path.write_bytes(bytes(raw))
    run = import_osv(path, actor=ACTOR, batch_size=2)
    assert run.status == OsvImport.Status.FAILED
    assert run.message == (
        f"{path} is not a readable zip file: central directory record 5 of 6 is missing or corrupt"
    )
    assert Advisory.objects.count() == 4, "the two batches read before the break stay"


@pytest.mark.django_db
def test_directory_import_walks_nested_directories_in_name_order(tmp_path: Path) -> None:
    root = tmp_path / "osv"
    for relative in ("b/2.json", "a/x/1.json", "a/0.json", "c.json", "a/notes.txt"):
        file = root / relative
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(_record(f"WHARF-DIR-{file.stem}") if relative.endswith(".json") else b"text")
    (root / "a" / "broken.json").write_text("{")
    run = import_osv(root, actor=ACTOR)
    assert (run.status, run.seen, run.created, run.invalid) == ("succeeded", 5, 4, 1)
    assert run.errors[0]["entry"] == "a/broken.json"
