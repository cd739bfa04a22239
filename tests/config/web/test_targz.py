"""The bounded .tar.gz reader: archives tarfile writes read back; bombs and damage are refused
at the header that announces them, with the limit passed."""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib

import pytest

from branchline.config.web.targz import ArchiveInvalid, ArchiveLimit, Limits, read_members

LIMITS = Limits(members=10, unpacked_bytes=1_000_000, header_bytes=16 * 1024)


def _tar(files: dict[str, bytes], fmt: int = tarfile.PAX_FORMAT, extra=()) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return out.getvalue()


def _header(name: str, size: int, kind: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(tarfile.USTAR_FORMAT)


def _read(data: bytes, limits: Limits = LIMITS) -> dict[str, bytes]:
    return {m.name: m.data for m in read_members(data, limits)}


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_what_tarfile_writes_reads_back(fmt):
    files = {"manifest.json": b"{}", "config/current": b"000001\n", "empty": b"",
             "prompts/recorded/zh/" + "long" * 20 + ".wav": b"RIFF" * 300}
    assert _read(gzip.compress(_tar(files, fmt))) == files


def test_pax_path_and_unicode_names_are_honoured():
    files = {"prompts/recorded/zh/欢迎.wav": b"x" * 700}
    assert _read(gzip.compress(_tar(files))) == files


def test_a_pax_header_bomb_is_refused_at_its_header():
    # The archive: 362 bytes of gzip, a pax header of 256 KiB of "0" that the standard
    # library's tarfile spends half a minute parsing (CVE-2024-6232).
    bomb = gzip.compress(_header("././@PaxHeader", 256 * 1024, tarfile.XHDTYPE)
                         + b"0" * (256 * 1024) + bytes(1024))
    assert len(bomb) < 1000
    with pytest.raises(ArchiveLimit, match="has a pax extended header of 262144 bytes; at most "
                                           "16384 bytes are allowed"):
        _read(bomb)


def test_a_huge_gnu_long_name_is_refused_without_inflating_it():
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    size = 300 * 1024 * 1024
    parts = [compressor.compress(_header("././@LongLink", size, tarfile.GNUTYPE_LONGNAME))]
    zeros = bytes(1024 * 1024)
    parts += [compressor.compress(zeros) for _ in range(size // len(zeros))]
    parts.append(compressor.flush())
    with pytest.raises(ArchiveLimit, match="GNU long-name header of 314572800 bytes"):
        _read(b"".join(parts))


def test_member_count_and_unpacked_size_are_limits():
    many = gzip.compress(_tar({f"f{i}": b"" for i in range(11)}))
    with pytest.raises(ArchiveLimit, match="has more than 10 members"):
        _read(many)
    big = gzip.compress(_tar({"a": bytes(600_000), "b": bytes(600_000)}))
    with pytest.raises(ArchiveLimit, match="unpacks to more than 1 MB"):
        _read(big)


def test_a_pax_size_counts_against_the_limit():
    pax = b"20 size=99999999999\n"
    data = (_header("././@PaxHeader", len(pax), tarfile.XHDTYPE) + pax.ljust(512, b"\0")
            + _header("a", 0, tarfile.REGTYPE) + bytes(1024))
    with pytest.raises(ArchiveLimit, match="unpacks to more than 1 MB"):
        _read(gzip.compress(data))


@pytest.mark.parametrize(("data", "expected"), [
    (gzip.compress(b"not a tar archive at all".ljust(512, b"!")), "checksum"),
    (gzip.compress(_tar({"a": b"x" * 2000}))[:-30], "cut short"),
    (gzip.compress(_tar({"a": b"x" * 2000})[:1024]), "ends in the middle of a member"),
    (b"\x1f\x8b" + bytes(40), "the gzip stream is damaged"),
    (gzip.compress(_header("././@PaxHeader", 7, tarfile.XHDTYPE) + b"9 path\n".ljust(512, b"\0")
                   + bytes(1024)), "a record's length is wrong"),
])
def test_damage_is_named(data, expected):
    with pytest.raises(ArchiveInvalid, match=expected) as caught:
        _read(data)
    assert not isinstance(caught.value, ArchiveLimit)


def test_links_are_reported_with_their_kind_and_no_data():
    link = tarfile.TarInfo("evil")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    members = list(read_members(gzip.compress(_tar({}, extra=[link])), LIMITS))
    assert [(m.name, m.kind, m.data) for m in members] == [("evil", "2", b"")]


def test_concatenated_gzip_members_read_as_one_stream():
    tar = _tar({"a": b"x" * 3000, "b": b"y"})
    assert _read(gzip.compress(tar[:1536]) + gzip.compress(tar[1536:])) == {
        "a": b"x" * 3000, "b": b"y"}
