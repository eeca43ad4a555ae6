"""Input resolution for Processing steps fed by a Redshift UNLOAD manifest (boto3 only if needed).

The pipelines mount only the manifest object at `/opt/ml/processing/input/data/` (SageMaker's
ManifestFile input type cannot read Redshift's `{"entries": [{"url", "meta"}]}` format). So
`resolve_input_files` reads the manifest and, for each entry:

- uses the local file of the same basename when the data was mounted too (size checked
  against `meta.content_length`);
- otherwise downloads `url` with boto3 (streamed to disk, multipart) into a work folder and
  checks the size again.

Either all entries are local or none is: a manifest next to some but not all of its files
means an incomplete mount, and is an error naming the first missing entry (no silent
download of the rest). A directory without a manifest is read as plain data files (local
runs and tests); a single file may be given, either a manifest or a data file.

Scale-out: a step run on N Processing instances gets the same manifest on every instance
(`S3DataDistributionType=FullyReplicated`, as `step_builders.processing_step_args` mounts
it), and `current_shard()` tells each instance which entries are its own: entry i belongs to host
`i % N`, hosts in the order of `/opt/ml/config/resourceconfig.json`'s `hosts` list. The
subsets are disjoint and together complete; every host derives the same assignment from the
same manifest with no coordination. (`ShardedByS3Key` must not be used with a manifest: it
would hand the single manifest object to one instance.) Environment overrides for local runs
and tests: `PKGML_SHARD_INDEX`, `PKGML_SHARD_COUNT` and optionally `PKGML_SHARD_HOST`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

DEFAULT_CONFIG_DIR = Path("/opt/ml/config")
PROCESSING_ROOT = Path("/opt/ml/processing")
SHARD_INDEX_ENV = "PKGML_SHARD_INDEX"
SHARD_COUNT_ENV = "PKGML_SHARD_COUNT"
SHARD_HOST_ENV = "PKGML_SHARD_HOST"

T = TypeVar("T")
S3ClientFactory = Callable[[], Any]


class ManifestError(ValueError):
    """The input cannot be resolved: bad manifest, missing or mismatched entry, no data."""


@dataclass(frozen=True)
class ManifestEntry:
    """One `entries[]` item of an UNLOAD manifest."""

    url: str
    content_length: int | None = None
    record_count: int | None = None

    @property
    def name(self) -> str:
        """The object's basename, e.g. `0000_part_00.parquet`."""
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    def bucket_and_key(self) -> tuple[str, str]:
        """(bucket, key) of an `s3://bucket/key` URL; ManifestError for anything else."""
        if not self.url.startswith("s3://"):
            raise ManifestError(f"manifest entry {self.url!r} is not an s3:// URL")
        bucket, _, key = self.url[len("s3://") :].partition("/")
        if not bucket or not key:
            raise ManifestError(f"manifest entry {self.url!r} has no bucket or no key")
        return bucket, unquote(key)


@dataclass(frozen=True)
class Shard:
    """Which part of the input this instance processes: entry i is ours if i % count == index."""

    index: int = 0
    count: int = 1
    host: str = "local"

    def __post_init__(self) -> None:
        """0 <= index < count."""
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard index {self.index} is not within 0..{self.count - 1}")

    def select(self, items: Sequence[T]) -> list[T]:
        """This shard's items, in input order."""
        return list(items[self.index :: self.count])


WHOLE = Shard()


def current_shard(
    *, config_dir: Path = DEFAULT_CONFIG_DIR, environ: Mapping[str, str] | None = None
) -> Shard:
    """This instance's shard: env overrides, else resourceconfig.json, else the whole input."""
    env = os.environ if environ is None else environ
    if SHARD_INDEX_ENV in env or SHARD_COUNT_ENV in env:
        try:
            index, count = int(env[SHARD_INDEX_ENV]), int(env[SHARD_COUNT_ENV])
        except (KeyError, ValueError) as error:
            raise ValueError(
                f"set both {SHARD_INDEX_ENV} and {SHARD_COUNT_ENV} to integers: {error}"
            ) from error
        return Shard(index=index, count=count, host=env.get(SHARD_HOST_ENV, f"shard{index}"))
    resource_config = config_dir / "resourceconfig.json"
    if resource_config.is_file():
        config = json.loads(resource_config.read_text())
        hosts, host = list(config["hosts"]), str(config["current_host"])
        if host not in hosts:
            raise ValueError(f"{resource_config}: current_host {host!r} is not in {hosts}")
        return Shard(index=hosts.index(host), count=len(hosts), host=host)
    job_config = config_dir / "processingjobconfig.json"
    if job_config.is_file():
        cluster = json.loads(job_config.read_text())["ProcessingResources"]["ClusterConfig"]
        if int(cluster.get("InstanceCount", 1)) > 1:
            raise ValueError(
                f"{job_config} says {cluster['InstanceCount']} instances but "
                f"{resource_config} is missing: cannot tell which shard is this host's"
            )
        return Shard(host="algo-1")
    return WHOLE


def looks_like_manifest(path: Path) -> bool:
    """True for a file named like an UNLOAD manifest (`manifest`, `<prefix>manifest`, .json)."""
    return path.name.endswith("manifest") or path.suffix == ".json"


def _is_hidden(path: Path) -> bool:
    """Hidden or marker files (`.x`, `_SUCCESS`) that are not data."""
    return path.name.startswith((".", "_"))


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Entries of a Redshift UNLOAD manifest; ManifestError if malformed or empty."""
    try:
        entries = json.loads(path.read_text())["entries"]
        parsed = [
            ManifestEntry(
                url=str(entry["url"]),
                content_length=_optional_int(entry.get("meta", {}).get("content_length")),
                record_count=_optional_int(entry.get("meta", {}).get("record_count")),
            )
            for entry in entries
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ManifestError(f"manifest {path} is not a valid UNLOAD manifest: {error}") from error
    if not parsed:
        raise ManifestError(
            f"manifest {path} has no entries: the UNLOAD wrote no data files (nothing to read)"
        )
    return parsed


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def find_manifest(input_dir: Path) -> Path | None:
    """The one manifest under input_dir, or None; ManifestError if there are several."""
    manifests = sorted(
        p
        for p in input_dir.rglob("*")
        if p.is_file() and not _is_hidden(p) and looks_like_manifest(p)
    )
    if len(manifests) > 1:
        raise ManifestError(
            f"input dir {input_dir} holds several manifests: {[str(m) for m in manifests]}"
        )
    return manifests[0] if manifests else None


def default_s3_client() -> Any:
    """A boto3 S3 client for the container's region and role (boto3 imported on first use)."""
    import boto3

    return boto3.client("s3")


def default_work_dir() -> Path:
    """Where downloads go: /opt/ml/processing/work on SageMaker (the job's volume), else /tmp."""
    if PROCESSING_ROOT.is_dir() and os.access(PROCESSING_ROOT, os.W_OK):
        return PROCESSING_ROOT / "work"
    return Path(tempfile.mkdtemp(prefix="pkgml-inputs-"))


def _check_size(path: Path, entry: ManifestEntry, manifest: Path) -> None:
    actual = path.stat().st_size
    if entry.content_length is not None and entry.content_length != actual:
        raise ManifestError(
            f"{path} has {actual} bytes but manifest {manifest} says {entry.content_length} "
            f"for {entry.url}: incomplete download or a file from another unload"
        )


def _download(client: Any, entry: ManifestEntry, target: Path, manifest: Path) -> Path:
    """Stream one entry to `target` (via a .part file, renamed when complete and checked)."""
    if target.is_file() and entry.content_length == target.stat().st_size:
        return target  # downloaded earlier in this job (e.g. a second resolve)
    bucket, key = entry.bucket_and_key()
    partial = target.with_name(target.name + ".part")
    try:
        client.download_file(bucket, key, str(partial))
    except Exception as error:  # botocore raises ClientError, S3UploadFailedError, ...
        partial.unlink(missing_ok=True)
        raise ManifestError(
            f"manifest {manifest} lists {entry.url}, which is not in the input dir and could "
            f"not be downloaded: {error}"
        ) from error
    _check_size(partial, entry, manifest)
    partial.replace(target)
    return target


def _local_files(root: Path, exclude: Path) -> dict[str, Path]:
    """{basename: path} of the data files under root; ManifestError on ambiguous names."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path == exclude or path.name.endswith(".part"):
            continue
        if path.name in found:
            raise ManifestError(f"{path} and {found[path.name]} share a name: ambiguous input")
        found[path.name] = path
    return found


def _resolve_manifest(
    manifest: Path,
    data_dir: Path,
    *,
    shard: Shard,
    work_dir: Path | None,
    s3_client_factory: S3ClientFactory,
) -> list[Path]:
    entries = read_manifest(manifest)
    local = _local_files(data_dir, exclude=manifest)
    present = [e for e in entries if e.name in local]
    if present and len(present) < len(entries):
        missing = next(e for e in entries if e.name not in local)
        raise ManifestError(
            f"manifest {manifest} lists {missing.url} but {missing.name} is not in {data_dir} "
            f"({len(present)} of {len(entries)} entries are): incomplete input mount"
        )
    mine = shard.select(list(enumerate(entries)))
    if present:
        files = []
        for _, entry in mine:
            _check_size(local[entry.name], entry, manifest)
            files.append(local[entry.name])
        return files
    if not mine:
        return []
    folder = work_dir or default_work_dir()
    folder.mkdir(parents=True, exist_ok=True)
    client = s3_client_factory()
    # The manifest position prefixes the name: basenames may repeat across prefixes.
    return [_download(client, e, folder / f"{i:05d}-{e.name}", manifest) for i, e in mine]


def resolve_input_files(
    input_dir: str | Path,
    *,
    shard: Shard = WHOLE,
    work_dir: Path | None = None,
    s3_client_factory: S3ClientFactory = default_s3_client,
) -> list[Path]:
    """This shard's local data files of an input (manifest, directory or file); see module doc.

    Raises ManifestError (a ValueError) naming the entry that is missing, mismatched or not
    downloadable, or when there is no data at all. An empty list means the input has data
    but none of it is this shard's (more hosts than entries).
    """
    root = Path(input_dir)
    if root.is_file():
        if looks_like_manifest(root):
            return _resolve_manifest(
                root,
                root.parent,
                shard=shard,
                work_dir=work_dir,
                s3_client_factory=s3_client_factory,
            )
        return shard.select([root])
    if not root.is_dir():
        raise ManifestError(f"input path {root} does not exist")
    manifest = find_manifest(root)
    if manifest is not None:
        return _resolve_manifest(
            manifest, root, shard=shard, work_dir=work_dir, s3_client_factory=s3_client_factory
        )
    candidates = sorted(p for p in root.rglob("*") if p.is_file() and not _is_hidden(p))
    if not candidates:
        raise ManifestError(f"input dir {root} holds no data files and no manifest")
    return shard.select(candidates)
