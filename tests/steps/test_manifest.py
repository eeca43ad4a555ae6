"""manifest: local match, S3 download (moto), size and missing errors, empty, sharding."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pipeline_defs.steps import manifest as m

BUCKET = "pkgml-test-data"
PREFIX = f"s3://{BUCKET}/unload/inference-daily/run-1"


def _write_parts(folder: Path, count: int) -> list[Path]:
    """`count` small data files named like UNLOAD parts."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"{index:04d}_part_00.parquet"
        path.write_bytes(b"PAR1" + bytes([index]) * (100 + index) + b"PAR1")
        paths.append(path)
    return paths


def _manifest(folder: Path, parts: list[Path], **overrides: int | None) -> Path:
    """A Redshift-style manifest for the parts; overrides: {basename: content_length}."""
    entries = []
    for part in parts:
        length = overrides.get(part.name, part.stat().st_size)
        meta: dict[str, Any] = {} if length is None else {"content_length": length}
        entries.append({"url": f"{PREFIX}/{part.name}", "meta": meta})
    path = folder / "manifest"
    path.write_text(json.dumps({"entries": entries, "schema": {"elements": []}}))
    return path


def _no_downloads() -> Any:
    raise AssertionError("nothing should be downloaded")


@pytest.fixture
def s3() -> Iterator[Any]:
    """A moto S3 client with an empty bucket."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _upload(client: Any, parts: list[Path]) -> None:
    for part in parts:
        client.upload_file(str(part), BUCKET, f"unload/inference-daily/run-1/{part.name}")


def test_local_files_are_matched_by_basename_in_manifest_order(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "sub", 3)
    _manifest(tmp_path, list(reversed(parts)))
    files = m.resolve_input_files(tmp_path, s3_client_factory=_no_downloads)
    assert files == list(reversed(parts))


def test_manifest_file_path_and_missing_length_are_accepted(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path, 2)
    path = _manifest(tmp_path, parts, **{parts[0].name: None})
    assert m.resolve_input_files(path, s3_client_factory=_no_downloads) == parts


def test_only_the_manifest_mounted_downloads_every_entry(s3: Any, tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "source", 3)
    _upload(s3, parts)
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    _manifest(mounted, parts)
    work = tmp_path / "work"
    files = m.resolve_input_files(mounted, work_dir=work, s3_client_factory=lambda: s3)
    assert [f.parent for f in files] == [work] * 3
    assert [f.read_bytes() for f in files] == [p.read_bytes() for p in parts]
    assert not list(work.glob("*.part"))


def test_download_size_mismatch_names_the_entry(s3: Any, tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "source", 2)
    _upload(s3, parts)
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    _manifest(mounted, parts, **{parts[1].name: 5})
    with pytest.raises(m.ManifestError, match=rf"says 5 for {PREFIX}/0001_part_00\.parquet"):
        m.resolve_input_files(mounted, work_dir=tmp_path / "w", s3_client_factory=lambda: s3)


def test_entry_missing_from_s3_names_the_url(s3: Any, tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "source", 2)
    _upload(s3, parts[:1])
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    _manifest(mounted, parts)
    with pytest.raises(m.ManifestError, match=r"0001_part_00\.parquet.*could not be downloaded"):
        m.resolve_input_files(mounted, work_dir=tmp_path / "w", s3_client_factory=lambda: s3)
    assert not list((tmp_path / "w").glob("*.part"))


def test_local_size_mismatch_is_an_incomplete_download(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path, 2)
    _manifest(tmp_path, parts, **{parts[0].name: 1})
    with pytest.raises(m.ManifestError, match="incomplete download"):
        m.resolve_input_files(tmp_path, s3_client_factory=_no_downloads)


def test_partly_mounted_input_names_the_missing_entry(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path, 3)
    _manifest(tmp_path, parts)
    parts[1].unlink()
    with pytest.raises(m.ManifestError, match=r"0001_part_00\.parquet.*2 of 3 entries"):
        m.resolve_input_files(tmp_path, s3_client_factory=_no_downloads)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"entries": []}', "has no entries"),
        ('{"entries": [{"meta": {}}]}', "not a valid UNLOAD manifest"),
        ("not json", "not a valid UNLOAD manifest"),
    ],
)
def test_empty_or_malformed_manifest_is_a_clear_error(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "manifest").write_text(text)
    with pytest.raises(m.ManifestError, match=message):
        m.resolve_input_files(tmp_path, s3_client_factory=_no_downloads)


def test_directory_without_manifest_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(m.ManifestError, match="no data files"):
        m.resolve_input_files(tmp_path)
    parts = _write_parts(tmp_path, 2)
    (tmp_path / "_SUCCESS").write_text("")
    assert m.resolve_input_files(tmp_path) == parts


@pytest.mark.parametrize("hosts", [1, 2, 3, 5, 9])
def test_shards_are_disjoint_complete_and_deterministic(tmp_path: Path, hosts: int) -> None:
    parts = _write_parts(tmp_path, 7)
    _manifest(tmp_path, parts)
    shares = [
        m.resolve_input_files(tmp_path, shard=m.Shard(index=i, count=hosts, host=f"algo-{i + 1}"))
        for i in range(hosts)
    ]
    flat = [f for share in shares for f in share]
    assert sorted(flat) == sorted(parts) and len(flat) == len(set(flat))
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    again = m.resolve_input_files(tmp_path, shard=m.Shard(index=0, count=hosts))
    assert again == shares[0]


def test_downloads_only_this_shards_entries(s3: Any, tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "source", 4)
    _upload(s3, parts)
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    _manifest(mounted, parts)
    files = m.resolve_input_files(
        mounted, shard=m.Shard(1, 2), work_dir=tmp_path / "w", s3_client_factory=lambda: s3
    )
    assert [f.name for f in files] == ["00001-0001_part_00.parquet", "00003-0003_part_00.parquet"]
    assert len(list((tmp_path / "w").iterdir())) == 2


def test_current_shard_from_resource_config(tmp_path: Path) -> None:
    (tmp_path / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-2", "hosts": ["algo-1", "algo-2", "algo-3"]})
    )
    assert m.current_shard(config_dir=tmp_path, environ={}) == m.Shard(1, 3, "algo-2")


def test_current_shard_env_override_default_and_errors(tmp_path: Path) -> None:
    env = {m.SHARD_INDEX_ENV: "2", m.SHARD_COUNT_ENV: "4"}
    assert m.current_shard(config_dir=tmp_path, environ=env) == m.Shard(2, 4, "shard2")
    assert m.current_shard(config_dir=tmp_path, environ={}) == m.WHOLE
    with pytest.raises(ValueError, match="set both"):
        m.current_shard(config_dir=tmp_path, environ={m.SHARD_INDEX_ENV: "1"})
    with pytest.raises(ValueError, match="not within"):
        m.current_shard(config_dir=tmp_path, environ={**env, m.SHARD_INDEX_ENV: "4"})
    (tmp_path / "processingjobconfig.json").write_text(
        json.dumps({"ProcessingResources": {"ClusterConfig": {"InstanceCount": 2}}})
    )
    with pytest.raises(ValueError, match="cannot tell which shard"):
        m.current_shard(config_dir=tmp_path, environ={})
