"""The trigger's work: run file in S3 -> validated -> one pipeline execution per package type.

event -> object refs -> for each ref:
    outside DATA_BUCKET/RUNS_PREFIX, deleted since, zero-byte folder marker -> ignored
    (an EventBridge key that does not exist is tried URL-decoded before "deleted since")
    key, size, UTF-8, JSON, schema, manifest  --bad-->  quarantine + event (no start;
                                                        trigger_quarantine.py)
    for each package type: claim marker (S3 If-None-Match) -> StartPipelineExecution
                           -> marker records the execution ARN
Training runs start, per package type, the training pipeline of the architecture the run
trains (`model.architecture`, else the type's configured one; Settings.pipeline), with that
architecture's parameters (runfile.pipeline_parameters(run, package_type)).
A package type whose run is still executing is not started again: the "Run File Not
Started" event says so (the notify function words it; pkgml_contracts.notifications).
Only bad input (RunFileError) is quarantined. Unexpected errors (throttling, outages,
access, bugs) are collected and re-raised after the batch, so Lambda retries the event
(and, in the end, the failed-invocations queue gets it); claims make the retry skip what
already started, and the quarantine's steps are safe to repeat.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError
from pkgml_log import log_event
from runfile import (
    Reason,
    RunFile,
    RunFileError,
    decode_json,
    parse_run_file,
    parse_run_key,
    pipeline_parameters,
    validate_manifest,
)
from trigger_quarantine import Quarantine, Rejected, iso_time
from trigger_settings import Settings

from pkgml_contracts.notifications import RunFileNotStarted, put_event
from pkgml_contracts.runs import execution_display_name as display_name

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion"})
_DENIED = frozenset({"AccessDenied", "403"})
_CONDITION_FAILED = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "ResourceLimitExceeded",
        "ConflictException",
    }
)
_MAX_MANIFEST_BYTES = 16 * 1024 * 1024


class EventShapeError(ValueError):
    """The event is neither an S3 notification nor an EventBridge "Object Created" event."""


class BatchError(RuntimeError):
    """Some records failed unexpectedly; raised after the batch so Lambda retries it."""


@dataclass(frozen=True)
class ObjectRef:
    """One created object, as the event names it.

    `decoded_key`: the key URL-decoded, for EventBridge events whose key may arrive
    URL-encoded; used only if `key` itself does not exist.
    """

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    decoded_key: str | None = None

    def candidate_keys(self) -> list[str]:
        """The key as given, then its decoded form if that differs."""
        keys = [self.key]
        if self.decoded_key is not None and self.decoded_key != self.key:
            keys.append(self.decoded_key)
        return keys


@dataclass(frozen=True)
class Clients:
    """The AWS clients the trigger uses (module scope in the handler; fakes in tests)."""

    s3: Any
    sagemaker: Any
    events: Any  # EventBridge: what people must hear, for the notify function


@dataclass
class Outcome:
    """What happened to one record."""

    key: str
    status: str  # started | duplicate | concurrent | quarantined | ignored | failed
    reason: str | None = None
    executions: dict[str, str] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    concurrent: dict[str, str] = field(default_factory=dict)  # package type -> running ARN


class RunInProgress(Exception):
    """An execution of the same run (pipeline + display name) is still running."""

    def __init__(self, execution_arn: str) -> None:
        super().__init__(execution_arn)
        self.execution_arn = execution_arn


def object_refs(event: dict[str, Any]) -> list[ObjectRef]:
    """Object refs from an S3 notification (Records, URL-encoded keys) or an EventBridge event."""
    if event.get("Event") == "s3:TestEvent":
        return []
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        detail = event.get("detail") or {}
        obj, bucket = detail.get("object") or {}, detail.get("bucket") or {}
        if not isinstance(obj.get("key"), str) or not isinstance(bucket.get("name"), str):
            raise EventShapeError("EventBridge Object Created event without bucket.name/object.key")
        ref = _ref(bucket["name"], obj["key"], obj.get("version-id"), obj.get("etag"))
        return [replace(ref, decoded_key=unquote_plus(obj["key"]))]
    records = event.get("Records")
    if not isinstance(records, list):
        raise EventShapeError("expected an S3 notification (Records) or an EventBridge S3 event")
    refs = []
    for record in records:
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        s3 = record.get("s3") or {}
        obj, bucket = s3.get("object") or {}, s3.get("bucket") or {}
        if not isinstance(obj.get("key"), str) or not isinstance(bucket.get("name"), str):
            raise EventShapeError("S3 record without s3.bucket.name/s3.object.key")
        refs.append(
            _ref(bucket["name"], unquote_plus(obj["key"]), obj.get("versionId"), obj.get("eTag"))
        )
    return refs


def _ref(bucket: str, key: str, version_id: Any, etag: Any) -> ObjectRef:
    return ObjectRef(
        bucket=bucket,
        key=key,
        version_id=version_id if isinstance(version_id, str) and version_id else None,
        etag=etag.strip('"') if isinstance(etag, str) and etag else None,
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> str:
    return str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def _is(exc: BaseException, codes: frozenset[str]) -> bool:
    return isinstance(exc, ClientError) and (_code(exc) in codes or _status(exc) in codes)


def client_request_token(ref: ObjectRef, version: str, package_type: str) -> str:
    """Deterministic StartPipelineExecution token (64 hex chars) for one file version + type."""
    identity = "\n".join((ref.bucket, ref.key, version, package_type))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


class Trigger:
    """Processes run-file events with injected settings, clients and clock."""

    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        logger: logging.Logger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.logger = logger
        self.clock = clock
        self._quarantine = Quarantine(
            settings, clients.s3, clients.events, logger, self._absent, lambda: self.clock()
        )

    def _absent(self, exc: ClientError, bucket: str, key: str) -> bool:
        """True if `exc` means the object does not exist.

        Without s3:ListBucket, S3 answers 403 (not 404) for a missing key. A listing scoped
        to the key tells "missing" from "really denied" (IAM: ListBucket, s3:prefix-scoped).
        """
        if _is(exc, _NOT_FOUND):
            return True
        if not _is(exc, _DENIED):
            return False
        listed = self.clients.s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        return not any(item.get("Key") == key for item in listed.get("Contents", []))

    # --- batch ------------------------------------------------------------------------

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """Process every record; return a summary, or raise BatchError after the batch."""
        outcomes: list[Outcome] = []
        failures: list[BaseException] = []
        for ref in object_refs(event):
            try:
                outcomes.append(self.process(ref))
            except Exception as exc:  # collected, logged, re-raised after the batch
                failures.append(exc)
                outcomes.append(Outcome(key=ref.key, status="failed", reason=type(exc).__name__))
                log_event(
                    self.logger,
                    "run_file.failed",
                    logging.ERROR,
                    bucket=ref.bucket,
                    key=ref.key,
                    error=type(exc).__name__,
                    detail=str(exc),
                    retryable=_is(exc, _RETRYABLE),
                )
        summary = {
            "records": len(outcomes),
            "started": sum(len(o.executions) for o in outcomes),
            "duplicates": sum(len(o.duplicates) for o in outcomes),
            "quarantined": sum(o.status == "quarantined" for o in outcomes),
            "ignored": sum(o.status == "ignored" for o in outcomes),
            "failed": len(failures),
            "outcomes": [o.__dict__ for o in outcomes],
        }
        counts = {k: v for k, v in summary.items() if k != "outcomes"}
        log_event(self.logger, "batch.done", **counts)
        if failures:
            raise BatchError(
                f"{len(failures)} of {len(outcomes)} run files failed; the event will be retried"
            ) from failures[0]
        return summary

    # --- one record -------------------------------------------------------------------

    def process(self, ref: ObjectRef) -> Outcome:
        """Validate one run file and start its pipelines, or quarantine it."""
        s = self.settings
        ours = [k for k in ref.candidate_keys() if k.startswith(s.runs_prefix)]
        if ref.bucket != s.data_bucket or not ours:
            log_event(self.logger, "run_file.ignored", logging.WARNING, bucket=ref.bucket,
                      key=ref.key, why="outside DATA_BUCKET/RUNS_PREFIX")  # fmt: skip
            return Outcome(key=ref.key, status="ignored", reason="outside_runs_prefix")

        found = self._find(ref, ours)
        if found is None:  # deleted since: nothing to run or keep
            log_event(self.logger, "run_file.gone", logging.WARNING, key=ref.key)
            return Outcome(key=ref.key, status="ignored", reason="gone")
        ref, head = found
        version = ref.version_id or head.get("VersionId") or ""
        etag = str(head.get("ETag", "")).strip('"') or ref.etag or ""
        if version in ("", "null"):
            version = f"etag:{etag}"
        size = int(head.get("ContentLength", 0))
        if ref.key.endswith("/") and size == 0:  # a console "folder"; with content: bad_key
            return Outcome(key=ref.key, status="ignored", reason="folder_marker")

        version_args = {"VersionId": ref.version_id} if ref.version_id else {}
        try:
            run = self._validate(ref, size, version_args)
        except RunFileError as error:
            content_type = head.get("ContentType")
            if not isinstance(content_type, str):
                content_type = None
            self._quarantine(
                Rejected(ref.bucket, ref.key, version, etag, size, content_type), error
            )
            return Outcome(key=ref.key, status="quarantined", reason=error.reason)
        return self._start_all(ref, version, run)

    def _find(self, ref: ObjectRef, keys: list[str]) -> tuple[ObjectRef, dict[str, Any]] | None:
        """The first of `keys` that exists (HEAD at the event's version), or None if none.

        An EventBridge key may arrive URL-encoded: the key as given wins if it exists,
        else its decoded form is used.
        """
        version_args = {"VersionId": ref.version_id} if ref.version_id else {}
        for key in keys:
            try:
                head = self.clients.s3.head_object(Bucket=ref.bucket, Key=key, **version_args)
            except ClientError as exc:
                if self._absent(exc, ref.bucket, key):
                    continue
                raise
            return replace(ref, key=key, decoded_key=None), head
        return None

    def _validate(self, ref: ObjectRef, size: int, version_args: dict[str, str]) -> RunFile:
        s = self.settings
        expected = parse_run_key(ref.key, s.runs_prefix)
        if size > s.max_run_file_bytes:
            raise RunFileError(
                Reason.TOO_LARGE,
                "",
                f"is {size} bytes; run files are at most {s.max_run_file_bytes} bytes",
            )
        body = self.clients.s3.get_object(Bucket=ref.bucket, Key=ref.key, **version_args)[
            "Body"
        ].read(s.max_run_file_bytes + 1)
        if len(body) > s.max_run_file_bytes:
            raise RunFileError(Reason.TOO_LARGE, "", f"exceeds {s.max_run_file_bytes} bytes")
        run = parse_run_file(
            decode_json(body),
            expected=expected,
            data_bucket=s.data_bucket,
            configured_package_types=s.package_types,
            deployment=s.deployment,
        )
        self._check_manifest(run.manifest_uri)
        return run

    def _check_manifest(self, uri: str) -> None:
        bucket, _, key = uri[len("s3://") :].partition("/")
        try:
            response = self.clients.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if self._absent(exc, bucket, key):
                raise RunFileError(
                    Reason.MANIFEST_MISSING,
                    "data.manifest",
                    f"{uri} does not exist (has the extract finished?)",
                ) from None
            raise
        if int(response.get("ContentLength", 0)) > _MAX_MANIFEST_BYTES:
            raise RunFileError(Reason.MANIFEST_INVALID, "data.manifest", f"{uri} is too large")
        validate_manifest(response["Body"].read())

    # --- starting, with de-duplication -----------------------------------------------

    def _start_all(self, ref: ObjectRef, version: str, run: RunFile) -> Outcome:
        outcome = Outcome(key=ref.key, status="started")
        failures: list[Exception] = []
        for package_type in run.package_types:
            try:
                parameters = pipeline_parameters(run, package_type)
                arn = self._start_one(ref, version, run, package_type, parameters)
            except RunInProgress as busy:
                outcome.concurrent[package_type] = busy.execution_arn
                continue
            except Exception as exc:  # one package type's failure does not hold up the others
                failures.append(exc)
                continue
            if arn is None:
                outcome.duplicates.append(package_type)
            else:
                outcome.executions[package_type] = arn
        if failures:
            raise failures[0]
        if outcome.concurrent:
            self._not_started(ref, version, run, outcome.concurrent)
        if not outcome.executions:
            outcome.status = "concurrent" if outcome.concurrent else "duplicate"
        return outcome

    def _running_execution(self, pipeline: str, display: str) -> str | None:
        """ARN of an execution of `pipeline` for the same run still running, else None."""
        response = self.clients.sagemaker.list_pipeline_executions(
            PipelineName=pipeline, SortBy="CreationTime", SortOrder="Descending", MaxResults=50
        )
        for summary in response.get("PipelineExecutionSummaries", []):
            if summary.get("PipelineExecutionDisplayName") == display and summary.get(
                "PipelineExecutionStatus"
            ) in ("Executing", "Stopping"):
                return str(summary["PipelineExecutionArn"])
        return None

    def _not_started(
        self, ref: ObjectRef, version: str, run: RunFile, running: dict[str, str]
    ) -> None:
        """Tell people (an event for notify) that a re-uploaded run file was not started
        beside its running execution: two executions of one run write the same folders."""
        s = self.settings
        event = RunFileNotStarted(
            environment=s.environment,
            run_id=run.run_id,
            bucket=ref.bucket,
            key=ref.key,
            version=version,
            running=running,
            time=iso_time(self.clock()),
        )
        put_event(self.clients.events, s.project, event)
        log_event(self.logger, "run_file.concurrent", logging.WARNING, key=ref.key,
                  run_id=run.run_id, running=running)  # fmt: skip

    def _marker_key(self, token: str) -> str:
        return f"{self.settings.state_prefix}{token}.json"

    def _put_marker(self, key: str, body: dict[str, Any], **condition: str) -> None:
        self.clients.s3.put_object(
            Bucket=self.settings.data_bucket,
            Key=key,
            Body=json.dumps(body).encode("utf-8"),
            ContentType="application/json",
            **condition,
        )

    def _claim(self, key: str, claim: dict[str, Any]) -> bool:
        """Create the marker if absent, or take over a stale claim; False = someone has it."""
        try:
            self._put_marker(key, claim, IfNoneMatch="*")
            return True
        except ClientError as exc:
            if not _is(exc, _CONDITION_FAILED):
                raise
        try:
            existing = self.clients.s3.get_object(Bucket=self.settings.data_bucket, Key=key)
        except ClientError as exc:
            if _is(exc, _NOT_FOUND):  # released between our put and get: let Lambda retry
                raise BatchError(f"claim {key} changed while reading it; retry") from exc
            raise
        marker = json.loads(existing["Body"].read())
        age = self.clock() - float(marker.get("claimed_at_epoch", 0))
        if marker.get("status") == "started" or age < self.settings.claim_lease_seconds:
            return False
        # A claim older than the lease whose start never recorded an ARN: the invocation that
        # made it died. Take it over (If-Match: only one taker wins); the same token keeps
        # the start idempotent on AWS if that invocation had in fact started the pipeline.
        try:
            self._put_marker(key, claim, IfMatch=existing["ETag"])
        except ClientError as exc:
            if _is(exc, _CONDITION_FAILED):
                return False
            raise
        log_event(self.logger, "claim.taken_over", logging.WARNING, marker=key, age_s=int(age))
        return True

    def _start_one(
        self,
        ref: ObjectRef,
        version: str,
        run: RunFile,
        package_type: str,
        parameters: list[dict[str, str]],
    ) -> str | None:
        model = run.models.get(package_type)
        architecture = model.architecture.name if model is not None else None
        pipeline = self.settings.pipeline(run.kind, package_type, architecture)
        token = client_request_token(ref, version, package_type)
        marker_key = self._marker_key(token)
        now = self.clock()
        claim = {
            "status": "claimed",
            "claimed_at_epoch": now,
            "claimed_at": iso_time(now),
            "run_file": {"bucket": ref.bucket, "key": ref.key, "version": version},
            "run_id": run.run_id,
            "package_type": package_type,
            **({"architecture": architecture} if architecture else {}),
            "pipeline": pipeline,
            "client_request_token": token,
        }
        fields = {"key": ref.key, "run_id": run.run_id, "package_type": package_type,
                  "architecture": architecture, "pipeline": pipeline,
                  "token": token}  # fmt: skip
        if not self._claim(marker_key, claim):
            log_event(self.logger, "run_file.duplicate", **fields)
            return None
        running = self._running_execution(pipeline, display_name(run.run_id, package_type))
        if running is not None:
            # Another version of this run file is still executing: release the claim so a
            # re-upload after it finished starts normally.
            self.clients.s3.delete_object(Bucket=self.settings.data_bucket, Key=marker_key)
            raise RunInProgress(running)
        try:
            response = self.clients.sagemaker.start_pipeline_execution(
                PipelineName=pipeline,
                PipelineExecutionDisplayName=display_name(run.run_id, package_type),
                PipelineExecutionDescription=(
                    f"run file s3://{ref.bucket}/{ref.key} ({version})"[:3072]
                ),
                PipelineParameters=parameters,
                ClientRequestToken=token,
            )
        except Exception as exc:
            # Release the claim so the retry (or a re-upload) can start it; then re-raise.
            self.clients.s3.delete_object(Bucket=self.settings.data_bucket, Key=marker_key)
            log_event(self.logger, "pipeline.start_failed", logging.ERROR, **fields,
                      error=type(exc).__name__, detail=str(exc),
                      retryable=_is(exc, _RETRYABLE))  # fmt: skip
            raise
        arn = str(response["PipelineExecutionArn"])
        self._put_marker(
            marker_key,
            {**claim, "status": "started", "execution_arn": arn, "started_at": iso_time()},
        )
        log_event(self.logger, "pipeline.started", **fields, execution_arn=arn)
        return arn
