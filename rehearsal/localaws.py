"""Local stand-ins for the AWS services the pipelines touch: S3, the Model Registry, CloudWatch.

- `LocalS3`: `s3://bucket/key` is the file `<root>/bucket/key`; a bucket is a folder.
  `FakeS3Client` gives step scripts the boto3 calls they use on top of it.
- `LocalModelRegistry`: model package groups and versioned packages in one JSON file
  (shared by the executor and step subprocesses, guarded by a file lock). Requests are
  validated against botocore's SageMaker service model, so a malformed CreateModelPackage
  fails here as it would on AWS; errors are botocore `ClientError`s.
- `FakeCloudWatch`: put_metric_data appends to a JSON-lines file.

`fake_client(service, ...)` is what a step subprocess gets from `boto3.client(...)`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"

# Environment variables that tell a step subprocess where the local services live.
ENV_S3_ROOT = "REHEARSAL_S3_ROOT"
ENV_REGISTRY = "REHEARSAL_REGISTRY"
ENV_METRICS = "REHEARSAL_METRICS"
ENV_WAREHOUSE = "REHEARSAL_WAREHOUSE"
ENV_REGION = "REHEARSAL_REGION"


def client_error(code: str, message: str, operation: str, status: int = 400) -> Exception:
    """A botocore ClientError like the service's (what step code catches)."""
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def split_uri(uri: str) -> tuple[str, str]:
    """('bucket', 'key') of an s3:// URI; ValueError for anything else."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket")
    return bucket, key


class LocalS3:
    """S3 as a folder tree: s3://bucket/key <-> <root>/bucket/key."""

    def __init__(self, root: Path) -> None:
        """Use (and create) the folder root."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def ensure_bucket(self, bucket: str) -> None:
        """Create a bucket (a folder)."""
        (self.root / bucket).mkdir(parents=True, exist_ok=True)

    def has_bucket(self, bucket: str) -> bool:
        """True if the bucket's folder exists."""
        return (self.root / bucket).is_dir()

    def path(self, uri: str) -> Path:
        """The local file of an s3:// URI; ValueError for keys a folder tree cannot tell apart.

        On S3 `a//b` and `a/b` are different objects, but as file paths they collapse into
        one: such a key is refused rather than silently matched.
        """
        bucket, key = split_uri(uri)
        if "//" in key:
            raise ValueError(
                f"{uri}: the key has an empty path segment ('//'); on S3 that is a different "
                "object than the same key with one '/', so the rehearsal refuses it"
            )
        return self.root / bucket / key

    def list_keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Keys starting with prefix (plain string prefix, as S3 matches), sorted."""
        base = self.root / bucket
        if not base.is_dir():
            raise client_error("NoSuchBucket", f"bucket {bucket} does not exist", "ListObjectsV2")
        start = base / prefix.rsplit("/", 1)[0] if "/" in prefix else base
        if not start.is_dir():
            return []
        keys = (p.relative_to(base).as_posix() for p in start.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix))

    def read_bytes(self, uri: str) -> bytes:
        """An object's bytes; FileNotFoundError naming the URI."""
        path = self.path(uri)
        if not path.is_file():
            raise FileNotFoundError(f"{uri} does not exist (local file {path})")
        return path.read_bytes()

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write an object (its bucket must exist)."""
        bucket, key = split_uri(uri)
        if not self.has_bucket(bucket):
            raise FileNotFoundError(f"bucket {bucket} of {uri} does not exist")
        path = self.root / bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def download_prefix(self, uri: str, destination: Path) -> list[Path]:
        """Copy the objects under an S3Prefix URI into a folder, as a SageMaker File input does.

        Every key starting with the prefix is copied, like S3Prefix does: `s3://b/p/data`
        also takes `p/data_extra/x` (as `_extra/x`). A key equal to the prefix lands as
        `<destination>/<basename>`; others keep their path after the prefix.
        """
        bucket, prefix = split_uri(uri)
        destination.mkdir(parents=True, exist_ok=True)
        copied = []
        for key in self.list_keys(bucket, prefix):
            relative = key.rsplit("/", 1)[-1] if key == prefix else key[len(prefix) :].lstrip("/")
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.root / bucket / key, target)
            copied.append(target)
        return copied

    def upload_dir(self, source: Path, uri: str) -> list[str]:
        """Copy every file under source to `<uri>/<relative path>`; returns the URIs."""
        uris = []
        base = uri.rstrip("/")
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            target = f"{base}/{path.relative_to(source).as_posix()}"
            self.write_bytes(target, path.read_bytes())
            uris.append(target)
        return uris


class _Body(io.BytesIO):
    """A StreamingBody stand-in (read, close)."""


class _SinglePagePaginator:
    """get_paginator(...).paginate(**kwargs): one page holding everything."""

    def __init__(self, method: Any) -> None:
        self._method = method

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield self._method(**kwargs)


class NotEmulatedError(AttributeError):
    """An API call the rehearsal does not emulate (an AttributeError, so getattr defaults work)."""


@functools.cache
def service_model(service: str) -> Any:
    """botocore's model of an AWS service (loaded once; the SageMaker one takes about 0.3 s)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


class _Meta:
    """`client.meta` as boto3 has it: region_name and the real service model."""

    def __init__(self, service: str, region_name: str) -> None:
        self.service = service
        self.region_name = region_name

    @property
    def service_model(self) -> Any:
        return service_model(self.service)


class _Unsupported:
    """Name an API call the rehearsal does not emulate instead of an opaque AttributeError."""

    service = "?"
    region_name = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")

    @property
    def meta(self) -> _Meta:
        """Like a boto3 client's meta (service model, region)."""
        return _Meta(self.service, self.region_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise NotEmulatedError(
            f"{self.service}.{name} is not emulated by the local rehearsal "
            "(see rehearsal/README.md for the supported calls)"
        )


class FakeS3Client(_Unsupported):
    """The boto3 S3 calls step code uses, over a LocalS3 tree."""

    service = "s3"

    def __init__(self, s3: LocalS3) -> None:
        """Serve the given tree."""
        self._s3 = s3

    def _file(self, bucket: str, key: str, operation: str) -> Path:
        if not self._s3.has_bucket(bucket):
            raise client_error("NoSuchBucket", f"bucket {bucket} does not exist", operation, 404)
        path = self._s3.root / bucket / key
        if not key or not path.is_file():
            raise client_error("NoSuchKey", f"s3://{bucket}/{key} does not exist", operation, 404)
        return path

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        """Body + ContentLength."""
        data = self._file(Bucket, Key, "GetObject").read_bytes()
        return {"Body": _Body(data), "ContentLength": len(data)}

    def head_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        """ContentLength + LastModified."""
        path = self._file(Bucket, Key, "HeadObject")
        stat = path.stat()
        modified = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.timezone.utc)  # noqa: UP017 (Python 3.10)
        return {"ContentLength": stat.st_size, "LastModified": modified}

    def put_object(self, *, Bucket: str, Key: str, Body: Any = b"", **_: Any) -> dict[str, Any]:
        """Write bytes, str or a file object."""
        data = Body.read() if hasattr(Body, "read") else Body
        self._s3.write_bytes(
            f"s3://{Bucket}/{Key}", data.encode() if isinstance(data, str) else data
        )
        return {}

    def list_objects_v2(self, *, Bucket: str, Prefix: str = "", **_: Any) -> dict[str, Any]:
        """All matching keys in one response (no pagination needed locally)."""
        contents = []
        for key in self._s3.list_keys(Bucket, Prefix):
            stat = (self._s3.root / Bucket / key).stat()
            modified = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.timezone.utc)  # noqa: UP017 (Python 3.10)
            contents.append({"Key": key, "Size": stat.st_size, "LastModified": modified})
        response: dict[str, Any] = {"KeyCount": len(contents), "IsTruncated": False}
        if contents:
            response["Contents"] = contents
        return response

    def download_file(self, Bucket: str, Key: str, Filename: str, **_: Any) -> None:
        """Copy an object to a local file."""
        target = Path(Filename)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._file(Bucket, Key, "GetObject"), target)

    def upload_file(self, Filename: str, Bucket: str, Key: str, **_: Any) -> None:
        """Copy a local file to an object."""
        self._s3.write_bytes(f"s3://{Bucket}/{Key}", Path(Filename).read_bytes())

    def delete_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        """Delete (a missing key is fine, as on S3)."""
        with contextlib.suppress(FileNotFoundError):
            (self._s3.root / Bucket / Key).unlink()
        return {}

    def get_paginator(self, operation: str) -> _SinglePagePaginator:
        """Paginator for list_objects_v2."""
        if operation != "list_objects_v2":
            raise NotImplementedError(f"s3 paginator {operation!r} is not emulated")
        return _SinglePagePaginator(self.list_objects_v2)


def validate_request(operation: str, params: dict[str, Any]) -> None:
    """Raise ClientError(ValidationException) if params do not fit the SageMaker operation."""
    from botocore.validate import ParamValidator

    shape = service_model("sagemaker").operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise client_error("ValidationException", report.generate_report(), operation)


def _now() -> str:
    # dt.timezone.utc, not dt.UTC: steps run this module in the images' Python 3.10.
    return dt.datetime.now(tz=dt.timezone.utc).isoformat()  # noqa: UP017


class LocalModelRegistry(_Unsupported):
    """SageMaker Model Registry calls (groups, versioned packages) over one JSON file."""

    service = "sagemaker"

    def __init__(self, path: Path, *, region: str = "us-east-1") -> None:
        """Keep the registry in `path` (created on first write)."""
        self.path = Path(path)
        self.region = region
        self.region_name = region

    @contextlib.contextmanager
    def _state(self, *, write: bool) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            state = (
                json.loads(self.path.read_text())
                if self.path.is_file()
                else {"groups": {}, "packages": []}
            )
            yield state
            if write:
                temporary = self.path.with_suffix(".tmp")
                temporary.write_text(json.dumps(state, indent=2, sort_keys=True))
                os.replace(temporary, self.path)

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT_ID}:{kind}/{name.lower()}"

    @staticmethod
    def _public(package: dict[str, Any]) -> dict[str, Any]:
        result = dict(package)
        result["CreationTime"] = dt.datetime.fromisoformat(package["CreationTime"])
        if "LastModifiedTime" in package:
            result["LastModifiedTime"] = dt.datetime.fromisoformat(package["LastModifiedTime"])
        return result

    def create_model_package_group(self, **params: Any) -> dict[str, Any]:
        """Create a group (ValidationException if it exists)."""
        validate_request("CreateModelPackageGroup", params)
        name = params["ModelPackageGroupName"]
        with self._state(write=True) as state:
            if name in state["groups"]:
                raise client_error(
                    "ValidationException",
                    f"Model Package Group {name} already exists",
                    "CreateModelPackageGroup",
                )
            arn = self._arn("model-package-group", name)
            state["groups"][name] = {
                "ModelPackageGroupName": name,
                "ModelPackageGroupArn": arn,
                "CreationTime": _now(),
            }
        return {"ModelPackageGroupArn": arn}

    def create_model_package(self, **params: Any) -> dict[str, Any]:
        """Register a new version of a group (default status PendingManualApproval)."""
        validate_request("CreateModelPackage", params)
        group = params.get("ModelPackageGroupName")
        if not group:
            raise client_error(
                "ValidationException",
                "the rehearsal registers versioned packages only (ModelPackageGroupName)",
                "CreateModelPackage",
            )
        with self._state(write=True) as state:
            if group not in state["groups"]:
                raise client_error(
                    "ValidationException",
                    f"Model Package Group {group} does not exist",
                    "CreateModelPackage",
                )
            version = 1 + sum(p["ModelPackageGroupName"] == group for p in state["packages"])
            arn = self._arn("model-package", f"{group}/{version}")
            now = _now()
            state["packages"].append(
                {
                    **params,
                    "ModelPackageGroupName": group,
                    "ModelPackageName": group,
                    "ModelPackageVersion": version,
                    "ModelPackageArn": arn,
                    "ModelPackageStatus": "Completed",
                    "ModelApprovalStatus": params.get(
                        "ModelApprovalStatus", "PendingManualApproval"
                    ),
                    "CreationTime": now,
                    "LastModifiedTime": now,
                }
            )
        return {"ModelPackageArn": arn}

    def _find(self, state: dict[str, Any], name: str, operation: str) -> dict[str, Any]:
        for package in state["packages"]:
            if name == package["ModelPackageArn"]:
                return dict(package)
        raise client_error("ValidationException", f"Model package {name} not found", operation)

    def describe_model_package(self, *, ModelPackageName: str) -> dict[str, Any]:
        """The package by ARN."""
        with self._state(write=False) as state:
            return self._public(self._find(state, ModelPackageName, "DescribeModelPackage"))

    def list_model_packages(self, **params: Any) -> dict[str, Any]:
        """Summaries of a group's versions, filtered and sorted as the service does."""
        validate_request("ListModelPackages", params)
        group = params.get("ModelPackageGroupName")
        status = params.get("ModelApprovalStatus")
        with self._state(write=False) as state:
            packages = [
                p
                for p in state["packages"]
                if (group is None or p["ModelPackageGroupName"] == group)
                and (status is None or p["ModelApprovalStatus"] == status)
            ]
        by = params.get("SortBy", "CreationTime")
        packages.sort(
            key=lambda p: (
                (p["ModelPackageName"], p["ModelPackageVersion"])
                if by == "Name"
                else (p["CreationTime"], p["ModelPackageVersion"])
            ),
            reverse=params.get("SortOrder", "Ascending") == "Descending",
        )
        if "MaxResults" in params:
            packages = packages[: params["MaxResults"]]
        keys = (
            "ModelPackageGroupName",
            "ModelPackageVersion",
            "ModelPackageArn",
            "ModelPackageDescription",
            "CreationTime",
            "ModelPackageStatus",
            "ModelApprovalStatus",
        )
        summaries = [
            {k: v for k, v in self._public(p).items() if k in keys and k != "ModelPackageName"}
            for p in packages
        ]
        for summary, package in zip(summaries, packages, strict=True):
            summary["ModelPackageName"] = package["ModelPackageName"]
        return {"ModelPackageSummaryList": summaries}

    def update_model_package(self, **params: Any) -> dict[str, Any]:
        """Change approval status / customer metadata of a package."""
        validate_request("UpdateModelPackage", params)
        arn = params["ModelPackageArn"]
        with self._state(write=True) as state:
            for package in state["packages"]:
                if package["ModelPackageArn"] == arn:
                    if "ModelApprovalStatus" in params:
                        package["ModelApprovalStatus"] = params["ModelApprovalStatus"]
                    if "ApprovalDescription" in params:
                        package["ApprovalDescription"] = params["ApprovalDescription"]
                    metadata = package.setdefault("CustomerMetadataProperties", {})
                    metadata.update(params.get("CustomerMetadataProperties", {}))
                    for key in params.get("CustomerMetadataPropertiesToRemove", []):
                        metadata.pop(key, None)
                    package["LastModifiedTime"] = _now()
                    return {"ModelPackageArn": arn}
        raise client_error("ValidationException", f"Model package {arn} not found", "Update")

    def packages(self, group: str) -> list[dict[str, Any]]:
        """Every version of a group, oldest first (for reports and tests)."""
        with self._state(write=False) as state:
            return [
                self._public(p) for p in state["packages"] if p["ModelPackageGroupName"] == group
            ]

    def get_paginator(self, operation: str) -> _SinglePagePaginator:
        """Paginator for list_model_packages."""
        if operation != "list_model_packages":
            raise NotImplementedError(f"sagemaker paginator {operation!r} is not emulated")
        return _SinglePagePaginator(self.list_model_packages)


class FakeCloudWatch(_Unsupported):
    """put_metric_data appends each call to a JSON-lines file."""

    service = "cloudwatch"

    def __init__(self, path: Path) -> None:
        """Append to path."""
        self.path = Path(path)

    def put_metric_data(self, *, Namespace: str, MetricData: list[Any], **_: Any) -> dict[str, Any]:
        """Record the metrics."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as out:
            out.write(json.dumps({"Namespace": Namespace, "MetricData": MetricData}) + "\n")
        return {}


def fake_client(service: str, environ: dict[str, str] | None = None) -> Any:
    """The local stand-in for `boto3.client(service)`, configured from REHEARSAL_* variables."""
    env = os.environ if environ is None else environ
    region = env.get(ENV_REGION, "us-east-1")
    if service == "s3":
        return FakeS3Client(LocalS3(Path(env[ENV_S3_ROOT])))
    if service == "sagemaker":
        return LocalModelRegistry(Path(env[ENV_REGISTRY]), region=region)
    if service == "cloudwatch":
        return FakeCloudWatch(Path(env[ENV_METRICS]))
    if service == "redshift-data":
        from rehearsal.redshift_data import FakeRedshiftData

        return FakeRedshiftData(Path(env[ENV_WAREHOUSE]), s3=LocalS3(Path(env[ENV_S3_ROOT])))
    raise NotImplementedError(
        f"AWS service {service!r} is not emulated by the local rehearsal; emulated: "
        "s3, sagemaker (model registry), cloudwatch (put_metric_data), redshift-data"
    )
