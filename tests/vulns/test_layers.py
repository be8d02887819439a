"""read_layers(): layer streams in, the wanted files of the resulting image out."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

import pytest

from repositories.vulns.layers import (
    ImageFiles,
    LayerRejected,
    Limits,
    ScanLimitExceeded,
    UnsupportedLayer,
    normalize,
    read_layers,
)
from repositories.vulns.layers import streams as layer_streams
from tests.vulns.tarballs import (
    Entry,
    char_device,
    chunks,
    compress,
    digest_of,
    directory,
    fifo,
    file,
    gzip_bomb,
    hardlink,
    layer,
    layers,
    opaque,
    symlink,
    tar_bytes,
    whiteout,
)

CAP = 1024


def wanted(path: str) -> int | None:
    """Keep everything under etc/ and var/, up to CAP bytes each."""
    return CAP if path.startswith(("etc/", "var/", "usr/lib/os-release")) else None


def read(*blobs: bytes, limits: Limits = Limits()) -> ImageFiles:
    return read_layers(layers(*blobs), wanted, limits)


def contents(image: ImageFiles) -> dict[str, bytes]:
    return {kept.path: kept.data for kept in image.files()}


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """200 MB of zeros in a tar, gzip-compressed to about 200 KB."""
    return gzip_bomb(200 * 1024 * 1024)


class FakeBlobStream:
    """The shape of the registry client's BlobStream: iter_bytes(), verified at the end."""

    def __init__(self, blob: bytes, *, corrupt: bool = False) -> None:
        self.blob = blob
        self.corrupt = corrupt
        self.verified = False

    def iter_bytes(self) -> Iterator[bytes]:
        yield from chunks(self.blob, 1000)
        if self.corrupt:
            raise ValueError("digest mismatch")
        self.verified = True


# --- formats and stream shapes ---------------------------------------------------------


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_gzip_zstd_and_plain_layers_are_detected_by_magic(compression: str) -> None:
    pytest.importorskip("zstandard") if compression == "zstd" else None
    image = read(layer(file("etc/hostname", "box\n"), compression=compression))
    assert contents(image) == {"etc/hostname": b"box\n"}
    assert image.layers[0].compression == compression
    assert image.layers[0].entries == 1 and image.layers[0].kept == 1


def test_layers_are_read_from_chunk_iterators_file_objects_and_blob_streams() -> None:
    blob = layer(file("etc/hostname", "box\n"))
    blob_stream = FakeBlobStream(blob)
    for stream in (chunks(blob, 7), io.BytesIO(blob), blob_stream, blob):
        image = read_layers([(digest_of(blob), stream)], wanted)
        assert contents(image) == {"etc/hostname": b"box\n"}
    assert blob_stream.verified


def test_the_whole_stream_is_read_so_a_digest_check_at_its_end_runs() -> None:
    # Bytes after the end-of-archive marker are still read: the check is at the very end.
    blob = compress(tar_bytes(file("etc/a", "1")) + bytes(50_000))
    stream = FakeBlobStream(blob)
    read_layers([(digest_of(blob), stream)], wanted)
    assert stream.verified
    with pytest.raises(ValueError, match="digest mismatch"):
        read_layers([(digest_of(blob), FakeBlobStream(blob, corrupt=True))], wanted)


def test_only_wanted_files_are_kept_in_memory() -> None:
    image = read(layer(file("etc/os-release", "ID=x\n"), file("bin/sh", b"\x7fELF" * 100), directory("etc")))
    assert list(contents(image)) == ["etc/os-release"]
    assert image.layers[0].entries == 3


def test_zstd_without_the_library_is_rejected_as_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("zstandard")
    monkeypatch.setattr(layer_streams, "_zstd", None)
    with pytest.raises(UnsupportedLayer, match="zstandard"):
        read(layer(file("etc/a", "1"), compression="zstd"))


# --- layer order and whiteouts ---------------------------------------------------------


def test_an_upper_layer_replaces_a_file_and_keeps_the_older_content_as_history() -> None:
    lower, upper = layer(file("var/db", "v1")), layer(file("var/db", "v2"))
    [kept] = read(lower, upper).files()
    assert (kept.data, kept.layer) == (b"v2", digest_of(upper))
    assert kept.history == ((digest_of(lower), b"v1"),)


def test_a_whiteout_deletes_a_file_of_lower_layers() -> None:
    image = read(layer(file("var/a", "1"), file("var/b", "2")), layer(whiteout("var/a")))
    assert contents(image) == {"var/b": b"2"}
    assert image.layers[1].whiteouts == 1


def test_a_whiteout_of_a_directory_deletes_everything_below_it() -> None:
    image = read(
        layer(file("var/lib/dpkg/status", "x"), file("var/lib/dpkg/status.d/a", "y"), file("var/keep", "k")),
        layer(whiteout("var/lib/dpkg")),
    )
    assert contents(image) == {"var/keep": b"k"}


def test_a_whiteout_does_not_delete_what_its_own_layer_adds() -> None:
    image = read(layer(file("var/a", "old")), layer(whiteout("var/a"), file("var/a", "new")))
    [kept] = image.files()
    assert kept.data == b"new"
    assert kept.history == ()  # deleted in between: not the same file's history


def test_an_opaque_directory_hides_lower_contents_but_keeps_its_own() -> None:
    image = read(
        layer(file("var/lib/x/old", "1"), file("var/lib/y", "2")),
        layer(opaque("var/lib/x"), file("var/lib/x/new", "3")),
    )
    assert contents(image) == {"var/lib/x/new": b"3", "var/lib/y": b"2"}


def test_a_file_replacing_a_directory_hides_the_directory_contents() -> None:
    image = read(layer(file("var/lib/dpkg/status", "x")), layer(file("var/lib/dpkg", "now a file")))
    assert contents(image) == {"var/lib/dpkg": b"now a file"}


def test_a_later_layer_may_recreate_a_deleted_file() -> None:
    image = read(layer(file("var/a", "1")), layer(whiteout("var/a")), layer(file("var/a", "3")))
    assert contents(image) == {"var/a": b"3"}


# --- links ---------------------------------------------------------------------------


def test_os_release_symlink_is_followed_inside_the_image() -> None:
    image = read(
        layer(file("usr/lib/os-release", "ID=debian\n"), symlink("etc/os-release", "../usr/lib/os-release"))
    )
    kept = image.read("/etc/os-release")
    assert kept is not None and kept.path == "usr/lib/os-release" and kept.data == b"ID=debian\n"


def test_absolute_symlinks_and_symlinked_directories_resolve_from_the_image_root() -> None:
    image = read(
        layer(
            file("var/real/status", "s"),
            symlink("var/alias", "/var/real"),
            symlink("etc/status", "/var/alias/status"),
        )
    )
    assert image.resolve("etc/status") == "var/real/status"
    assert image.read("etc/status") is not None


def test_a_symlink_pointing_above_the_root_stays_inside_the_image() -> None:
    image = read(layer(file("etc/passwd", "root:x:0:0"), symlink("etc/escape", "../../../../etc/passwd")))
    assert image.resolve("etc/escape") == "etc/passwd"


def test_a_symlink_loop_resolves_to_nothing() -> None:
    image = read(layer(symlink("etc/a", "b"), symlink("etc/b", "a"), symlink("etc/self", "self")))
    assert image.resolve("etc/a") is None
    assert image.read("etc/self") is None


def test_a_hard_link_to_a_kept_file_is_kept_under_both_names() -> None:
    image = read(layer(file("etc/os-release", "ID=x\n"), hardlink("etc/os-release.bak", "etc/os-release")))
    assert contents(image) == {"etc/os-release": b"ID=x\n", "etc/os-release.bak": b"ID=x\n"}


def test_a_hard_link_to_an_unread_file_is_skipped_with_a_note() -> None:
    image = read(layer(file("bin/data", "x"), hardlink("etc/data", "bin/data")))
    assert contents(image) == {}
    assert any("hard link" in note for note in image.notes)


def test_device_files_and_fifos_are_not_read_but_hide_lower_files() -> None:
    image = read(
        layer(file("etc/a", "1"), file("etc/b", "2")),
        layer(char_device("etc/a"), fifo("etc/b"), char_device("etc/null")),
    )
    assert contents(image) == {}


# --- hostile names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "etc/passwd"),
        ("/etc/passwd", "etc/passwd"),
        ("./etc//./passwd", "etc/passwd"),
        ("etc/../../../../var/x", "var/x"),
        ("..", ""),
    ],
)
def test_names_are_normalised_and_never_leave_the_image_root(name: str, expected: str) -> None:
    assert normalize(name) == expected


def test_traversal_and_absolute_entry_names_are_read_inside_the_root_with_a_note() -> None:
    image = read(layer(file("../../etc/passwd", "evil"), file("/var/abs", "a"), file("..", "root itself")))
    assert contents(image) == {"etc/passwd": b"evil", "var/abs": b"a"}
    assert any("above the root" in note for note in image.notes)


# --- caps ---------------------------------------------------------------------------


def test_a_gzip_bomb_is_stopped_by_the_compression_ratio_cap(bomb: bytes) -> None:
    assert len(bomb) < 1024 * 1024
    with pytest.raises(ScanLimitExceeded) as error:
        read(bomb)
    assert error.value.limit == "max_ratio"
    assert error.value.layer == digest_of(bomb)


def test_a_gzip_bomb_is_stopped_at_the_decompressed_size_cap(bomb: bytes) -> None:
    limits = Limits(max_layer_bytes=8 * 1024 * 1024, max_ratio=10**9)
    with pytest.raises(ScanLimitExceeded, match="bytes once decompressed") as error:
        read(bomb, limits=limits)
    assert error.value.limit == "max_layer_bytes"


def test_the_compressed_size_cap_stops_an_endless_stream() -> None:
    def endless() -> Iterator[bytes]:
        block = compress(tar_bytes(file("bin/x", "x")))
        while True:
            yield block

    with pytest.raises(ScanLimitExceeded) as error:
        read_layers([("sha256:endless", endless())], wanted, Limits(max_compressed_bytes=100_000))
    assert error.value.limit == "max_compressed_bytes"


def test_the_entry_cap_stops_a_layer_with_too_many_entries() -> None:
    blob = layer(*(file(f"bin/f{i}", "") for i in range(200)))
    with pytest.raises(ScanLimitExceeded, match="more than 100 entries") as error:
        read(blob, limits=Limits(max_entries=100))
    assert error.value.limit == "max_entries"
    assert read(blob, limits=Limits(max_entries=200)).layers[0].entries == 200


def test_a_file_above_its_cap_is_skipped_with_a_note() -> None:
    image = read(layer(file("etc/big", "x" * (CAP + 1)), file("etc/small", "x" * CAP)))
    assert list(contents(image)) == ["etc/small"]
    assert any("etc/big" in note and "above its cap" in note for note in image.notes)


def test_the_total_of_kept_bytes_is_capped() -> None:
    blob = layer(*(file(f"etc/f{i}", "x" * 1000) for i in range(10)))
    with pytest.raises(ScanLimitExceeded) as error:
        read(blob, limits=Limits(max_kept_bytes=5000))
    assert error.value.limit == "max_kept_bytes"


def test_an_oversized_pax_header_is_rejected_before_it_is_read() -> None:
    blob = compress(tar_bytes(file("etc/" + "a" * 5000, "x")))  # the long name goes in a pax header
    with pytest.raises(ScanLimitExceeded) as error:
        read(blob, limits=Limits(max_header_bytes=1000))
    assert error.value.limit == "max_header_bytes"


def test_an_oversized_gnu_long_name_is_rejected_before_it_is_read() -> None:
    blob = compress(tar_bytes(file("etc/" + "a" * 5000, "x"), format_=tarfile.GNU_FORMAT))
    with pytest.raises(ScanLimitExceeded, match="extended tar header"):
        read(blob, limits=Limits(max_header_bytes=1000))


# --- corrupt input ------------------------------------------------------------------


def test_a_truncated_gzip_layer_is_rejected() -> None:
    blob = layer(file("etc/a", "x" * 5000))
    with pytest.raises(LayerRejected, match="truncated"):
        read(blob[: len(blob) // 2])


def test_a_tar_truncated_inside_a_file_is_rejected() -> None:
    data = tar_bytes(file("etc/a", "x" * 900), file("bin/b", "y" * 5000))
    for cut in (700, 2000):  # inside a kept file, inside a skipped one
        with pytest.raises(LayerRejected, match="truncated"):
            read(compress(data[:cut]))


def test_a_tar_truncated_inside_a_header_is_rejected() -> None:
    data = tar_bytes(file("etc/a", "x"), file("etc/b", "y"))
    with pytest.raises(LayerRejected, match="truncated"):
        read(compress(data[: 1024 + 100], "none"))


def test_garbage_is_rejected_as_a_corrupt_archive() -> None:
    with pytest.raises(LayerRejected):
        read(b"\x1f\x8b" + b"not really gzip" * 100)
    with pytest.raises(LayerRejected):
        read(bytes(range(256)) * 10)


def test_an_empty_tar_is_an_empty_layer() -> None:
    image = read(compress(tar_bytes()))
    assert contents(image) == {} and image.layers[0].entries == 0


def test_entries_are_custom_built_with_the_given_type() -> None:
    # Guard for the helpers themselves: a fifo entry really is a fifo in the tar.
    with tarfile.open(fileobj=io.BytesIO(tar_bytes(Entry("x", tarfile.FIFOTYPE)))) as archive:
        assert archive.getmembers()[0].isfifo()


def _pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return f"{length}{body}".encode()


def test_an_endless_chain_of_extended_headers_is_rejected_cleanly() -> None:
    record = _pax_record("comment", "x")
    header = tarfile.TarInfo("PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = len(record)
    block = header.tobuf(tarfile.USTAR_FORMAT) + record + bytes(-len(record) % tarfile.BLOCKSIZE)
    blob = compress(block * 5000 + tar_bytes(file("etc/a", "1")))
    with pytest.raises(LayerRejected, match="chained extended tar headers"):
        read(blob)


def test_gnu_sparse_members_are_rejected_as_unsupported() -> None:
    info = tarfile.TarInfo("etc/sparse")
    info.type = tarfile.GNUTYPE_SPARSE
    data = info.tobuf(tarfile.GNU_FORMAT) + bytes(2 * tarfile.BLOCKSIZE)
    with pytest.raises(UnsupportedLayer, match="sparse"):
        read(compress(data))
