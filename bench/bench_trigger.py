"""Trigger Lambda cost: cold import and per-event handling.

Cold import is measured in fresh interpreters (as Lambda's init runs), split into what the
runtime brings (boto3), our modules, and the three module-scope clients.

Handling is measured in-process over a few hundred synthetic S3 events, against in-memory
fake clients: that isolates our code (validation, hashing, JSON, claims, quarantine) from
AWS latency, which no local run can reproduce. A smaller moto run is shown for comparison:
moto adds its own request serialisation and in-memory server work (botocore's full call
path), so it bounds the client-side cost from above, still without network.
Target: our import + first event < 150 ms. Prints figures; exits 0 (timing never fails).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRIGGER_DIR = ROOT / "lambda_src" / "trigger"
BUCKET = "pkgml-bench-data"
PACKAGE_TYPES = ["mailer", "bag", "box", "sioc"]
KINDS = ("training", "inference-daily", "inference-monthly")
ENV = {
    "ENVIRONMENT": "dev",
    "DATA_BUCKET": BUCKET,
    "PIPELINES": json.dumps({k: {p: f"pkgml-dev-{p}-{k}" for p in PACKAGE_TYPES} for k in KINDS}),
    "PACKAGE_TYPES": json.dumps(PACKAGE_TYPES),
    "ARCHITECTURE_PIPELINES": json.dumps(
        {p: {"hgb": f"pkgml-dev-{p}-training"} for p in PACKAGE_TYPES}
    ),
    "DEFAULT_ARCHITECTURES": json.dumps(dict.fromkeys(PACKAGE_TYPES, "hgb")),
    "PROJECT": "pkgml",
    "LOG_LEVEL": "WARNING",  # the per-event INFO lines would measure the terminal
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
}
COLD_RUNS = 7
COLD_PROBE = """
import sys, time, json
sys.path.insert(0, {trigger_dir!r})
t0 = time.perf_counter()
import boto3
from botocore.exceptions import ClientError
t1 = time.perf_counter()
import runfile, pkgml_log, trigger_settings, trigger_service
t2 = time.perf_counter()
import trigger_handler
t3 = time.perf_counter()
print(json.dumps({{"boto3": t1 - t0, "modules": t2 - t1, "clients": t3 - t2}}))
"""


# --- fakes --------------------------------------------------------------------------------


def _error(code: str, operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeS3:
    """Just enough S3 for the trigger: objects in a dict, conditional puts."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def _get(self, key: str, operation: str) -> bytes:
        if key not in self.objects:
            raise _error("NoSuchKey", operation)
        return self.objects[key]

    def head_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        body = self._get(Key, "HeadObject")
        return {"ContentLength": len(body), "ETag": f'"{hash(body) & 0xFFFF:x}"'}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        body = self._get(Key, "GetObject")
        return {"Body": io.BytesIO(body), "ContentLength": len(body), "ETag": '"e"'}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **kw: Any) -> dict[str, Any]:
        if kw.get("IfNoneMatch") == "*" and Key in self.objects:
            raise _error("PreconditionFailed", "PutObject")
        self.objects[Key] = Body
        return {"ETag": '"e"'}

    def copy_object(
        self, Bucket: str, Key: str, CopySource: dict[str, str], **kwargs: object
    ) -> None:
        self.objects[Key] = self.objects[CopySource["Key"]]

    def delete_object(self, Bucket: str, Key: str) -> None:
        self.objects.pop(Key, None)


class FakeSageMaker:
    def __init__(self) -> None:
        self.started = 0

    def start_pipeline_execution(self, **kwargs: Any) -> dict[str, str]:
        self.started += 1
        return {"PipelineExecutionArn": f"arn:aws:sagemaker:::pipeline/x/execution/{self.started}"}

    def list_pipeline_executions(self, **kwargs: Any) -> dict[str, list[Any]]:
        return {"PipelineExecutionSummaries": []}


class FakeEvents:
    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}


# --- workload -----------------------------------------------------------------------------


def _record(key: str, version: str) -> dict[str, Any]:
    return {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "versionId": version}},
    }


def workload(put: Any, valid: int, bad: int) -> list[tuple[str, dict[str, Any]]]:
    """(category, event): `valid` new files, then each delivered again, then `bad` files."""
    events: list[tuple[str, dict[str, Any]]] = []
    for i in range(valid):
        kind = KINDS[i % 3]
        run_id = f"{kind}-bench-{i}"
        manifest_key = f"unload/{kind}/{run_id}/manifest"
        put(manifest_key, json.dumps({"entries": [{"url": "s3://x/0.parquet"}]}).encode())
        document = {"schema_version": 1, "kind": kind, "run_id": run_id,
                    "data": {"manifest": f"s3://{BUCKET}/{manifest_key}"}}  # fmt: skip
        key = f"runs/{kind}/{run_id}.json"
        version = put(key, json.dumps(document).encode())
        events.append(("valid file (4 starts)", {"Records": [_record(key, version)]}))
    events += [("duplicate delivery", event) for _, event in list(events)]
    for i in range(bad):
        key = f"runs/training/bad-{i}.json"
        version = put(key, b'{"schema_version": 1, "kind": "training"')
        events.append(("bad file (quarantine)", {"Records": [_record(key, version)]}))
    return events


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_workload(trigger: Any, events: list[tuple[str, dict[str, Any]]]) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for category, event in events:
        start = time.perf_counter()
        trigger.handle(event)
        timings.setdefault(category, []).append(time.perf_counter() - start)
    return timings


# --- main ---------------------------------------------------------------------------------


def cold_imports(trigger_dir: Path, *, bytecode: bool) -> dict[str, list[float]]:
    """Fresh interpreters; bytecode=False compiles our modules each time, as on Lambda
    (the asset excludes __pycache__ and /var/task is read-only)."""
    env = {**os.environ, **ENV}
    flags = [] if bytecode else ["-B"]
    results: dict[str, list[float]] = {"boto3": [], "modules": [], "clients": []}
    for _ in range(COLD_RUNS):
        out = subprocess.run(  # noqa: S603 - our interpreter, our probe
            [sys.executable, *flags, "-c", COLD_PROBE.format(trigger_dir=str(trigger_dir))],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for name, value in json.loads(out).items():
            results[name].append(value)
    return results


def _catalog() -> str:
    """The deployed architectures' catalog, as the stack ships it beside the trigger."""
    from pipeline_defs.architectures import architectures
    from pkgml_contracts.architectures import catalog_json

    return catalog_json({"hgb": architectures()["hgb"]})


def main() -> int:
    began = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    catalog = _catalog()
    catalog_file = Path(tempfile.mkdtemp()) / "architectures.json"
    catalog_file.write_text(catalog)
    ENV["ARCHITECTURES_FILE"] = str(catalog_file)
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT / "lambda_src" / "shared"))
    sys.path.insert(0, str(TRIGGER_DIR))
    import logging

    from trigger_service import Clients, Trigger
    from trigger_settings import load_settings

    settings = load_settings(ENV)
    quiet = logging.getLogger("bench.quiet")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False

    # Exactly what ships: the function's folder plus lambda_src/shared, staged.
    from stacks.components.function import lambda_asset_dir

    asset = lambda_asset_dir("trigger", {"architectures.json": catalog})
    cold = cold_imports(asset, bytecode=True)
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copytree(asset, scratch, dirs_exist_ok=True)
        cold_no_pyc = cold_imports(Path(scratch), bytecode=False)

    # stubbed (in-memory fakes): our code only
    s3 = FakeS3()
    counter = iter(range(10**9))

    def fake_put(key: str, body: bytes) -> str:
        s3.objects[key] = body
        return f"v{next(counter)}"

    events = workload(fake_put, valid=150, bad=50)
    sagemaker = FakeSageMaker()
    trigger = Trigger(settings, Clients(s3=s3, sagemaker=sagemaker, events=FakeEvents()), quiet)
    first_start = time.perf_counter()
    trigger.handle(events[0][1])
    first_event = time.perf_counter() - first_start
    fake_timings = run_workload(trigger, events[1:])
    quarantined = [k for k in s3.objects if k.startswith("quarantine/")]
    # the workload did what its labels say: 4 starts per valid file, none for the rest
    assert sagemaker.started == 4 * 150 and len(quarantined) == 2 * 50, "workload mislabelled"

    # moto: botocore's full call path + moto's in-memory services
    from moto import mock_aws

    with mock_aws():
        import boto3

        clients = Clients(
            s3=boto3.client("s3"),
            sagemaker=boto3.client("sagemaker"),
            events=boto3.client("events"),
        )
        clients.s3.create_bucket(Bucket=BUCKET)
        clients.s3.put_bucket_versioning(
            Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        for routes in json.loads(ENV["PIPELINES"]).values():
            for name in routes.values():
                clients.sagemaker.create_pipeline(
                    PipelineName=name,
                    PipelineDefinition="{}",
                    RoleArn="arn:aws:iam::123456789012:role/r",
                )

        def moto_put(key: str, body: bytes) -> str:
            return str(clients.s3.put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"])

        moto_events = workload(moto_put, valid=60, bad=20)
        moto_timings = run_workload(Trigger(settings, clients, quiet), moto_events)

    ms = 1000.0
    rows: list[tuple[str, str, str]] = []
    for name, label in (
        ("boto3", "cold: import boto3 (runtime-provided)"),
        ("modules", "cold: import our trigger modules"),
        ("clients", "cold: handler module (3 boto3 clients)"),
    ):
        values = cold[name]
        rows.append((label, f"{statistics.median(values) * ms:.1f}", f"{max(values) * ms:.1f}"))
    values = cold_no_pyc["modules"]
    rows.append(
        (
            "cold: import our trigger modules, no .pyc (as deployed)",
            f"{statistics.median(values) * ms:.1f}",
            f"{max(values) * ms:.1f}",
        )
    )
    for backend, timings in (("fakes", fake_timings), ("moto", moto_timings)):
        for category, values in timings.items():
            rows.append(
                (
                    f"handle [{backend}]: {category} (n={len(values)})",
                    f"{statistics.median(values) * ms:.2f}",
                    f"{percentile(values, 0.95) * ms:.2f}",
                )
            )
    ours = statistics.median(cold_no_pyc["modules"]) + statistics.median(cold["clients"])
    total = statistics.median(cold["boto3"]) + ours + first_event
    print(f"trigger benchmark: Python {sys.version.split()[0]}, {COLD_RUNS} cold interpreters")
    print(f"{'measure':<58} {'median ms':>10} {'p95/max ms':>11}")
    for label, median, p95 in rows:
        print(f"{label:<58} {median:>10} {p95:>11}")
    print(
        f"{'cold: our modules (no .pyc) + first event (fakes)':<58} "
        f"{(statistics.median(cold_no_pyc['modules']) + first_event) * ms:>10.1f}   target < 150"
    )
    print(f"{'cold: + the 3 module-scope clients':<58} {(ours + first_event) * ms:>10.1f}")
    print(f"{'cold start incl. import boto3':<58} {total * ms:>10.1f}")
    print(
        f"(cold column 3 = max of {COLD_RUNS}; benchmark took {time.perf_counter() - began:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
