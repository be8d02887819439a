"""A tarfile header class that refuses what would make tarfile allocate without bound."""

from __future__ import annotations

import tarfile
from typing import Any, Self

from .limits import DEFAULT_LIMITS, LayerRejected, ScanLimitExceeded, UnsupportedLayer

_EXTENDED_HEADERS = (
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
)


class GuardedTarInfo(tarfile.TarInfo):
    """A TarInfo that caps extended headers before tarfile reads them into memory.

    tarfile reads a pax header, a GNU long name or long link whole, whatever size its
    header claims, and loops over GNU sparse maps; those are where a small hostile
    archive could make it allocate without bound.
    """

    # Set per archive by a subclass made in `reader` (tarfile builds instances via classmethods).
    max_header_bytes = DEFAULT_LIMITS.max_header_bytes
    layer = ""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        # tarfile takes a header cut short by the end of the stream for the end of
        # the archive; for us it is a truncated layer.
        if 0 < len(buf) < tarfile.BLOCKSIZE:
            raise LayerRejected("truncated tar archive (inside a header)", layer=cls.layer)
        return super().frombuf(buf, encoding, errors)

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise UnsupportedLayer("GNU sparse files are not supported", layer=self.layer)
        if self.type in _EXTENDED_HEADERS and self.size > self.max_header_bytes:
            raise ScanLimitExceeded(
                f"an extended tar header of {self.size} bytes", limit="max_header_bytes", layer=self.layer
            )
        return super()._proc_member(tarfile_)  # type: ignore[misc]

    def _proc_gnusparse_10(self, next_: Any, pax_headers: Any, tarfile_: Any) -> None:
        raise UnsupportedLayer("GNU sparse files are not supported", layer=self.layer)
