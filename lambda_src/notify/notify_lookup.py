"""Best-effort enrichment from AWS: the failed step, the RunId, the gate's reasons.

Every method answers None rather than raise: a notification without the extra detail is
better than a late one or none. Clients are built with short timeouts and no retries
(`lookup_config`), so a slow API costs seconds, not the function's whole timeout.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from botocore.config import Config
from notify_core import DriftNews, GateDecision, StepFailure, decision_scores
from pkgml_log import log_event

from pkgml_contracts.names import pipeline_outputs_prefix

_REASON_MAX = 1000


def lookup_config(timeout_seconds: int) -> Config:
    """Client config for lookups: one attempt, short connect and read timeouts."""
    return Config(
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        retries={"mode": "standard", "total_max_attempts": 1},
    )


def _first_arn(metadata: Any) -> str | None:
    if not isinstance(metadata, dict):
        return None
    for value in metadata.values():
        if isinstance(value, dict) and isinstance(value.get("Arn"), str):
            return str(value["Arn"])
    return None


class AwsLookup:
    """Lookups against SageMaker and S3 (clients injected; fakes or moto in tests)."""

    def __init__(
        self,
        sagemaker: Any,
        s3: Any,
        logger: logging.Logger,
        max_decision_bytes: int,
        artifacts_bucket: str | None = None,
    ) -> None:
        self.sagemaker = sagemaker
        self.s3 = s3
        self.logger = logger
        self.max_decision_bytes = max_decision_bytes
        self.artifacts_bucket = artifacts_bucket

    def _failed(self, what: str, exc: Exception, **fields: Any) -> None:
        log_event(self.logger, "lookup.failed", logging.WARNING, what=what,
                  error=type(exc).__name__, detail=str(exc)[:300], **fields)  # fmt: skip

    def failed_step(self, execution_arn: str) -> StepFailure | None:
        """The most recent Failed step of the execution (ListPipelineExecutionSteps)."""
        try:
            response = self.sagemaker.list_pipeline_execution_steps(
                PipelineExecutionArn=execution_arn, SortOrder="Descending", MaxResults=100
            )
            for step in response.get("PipelineExecutionSteps", []):
                if step.get("StepStatus") == "Failed" and isinstance(step.get("StepName"), str):
                    job_arn = _first_arn(step.get("Metadata"))
                    # Our step scripts say why they stopped in the job's ExitMessage; the
                    # step's own reason is often only "AlgorithmError: ...".
                    reason = self._exit_message(job_arn) or step.get("FailureReason")
                    return StepFailure(
                        name=step["StepName"],
                        step_type=None,
                        reason=str(reason)[:_REASON_MAX] if reason else None,
                        job_arn=job_arn,
                    )
        except Exception as exc:
            self._failed("failed_step", exc, execution_arn=execution_arn)
        return None

    def _exit_message(self, job_arn: str | None) -> str | None:
        """A processing job's ExitMessage (the first 1 KB of /opt/ml/output/message)."""
        if not job_arn or ":processing-job/" not in job_arn:
            return None
        try:
            name = job_arn.rsplit("/", 1)[1]
            message = self.sagemaker.describe_processing_job(ProcessingJobName=name).get(
                "ExitMessage"
            )
        except Exception as exc:
            self._failed("exit_message", exc, job_arn=job_arn)
            return None
        return message.strip() if isinstance(message, str) and message.strip() else None

    def drift(self, pipeline_name: str, run_id: str) -> DriftNews | None:
        """The run's drift.json (Load/drift output), if the settings name the bucket."""
        if self.artifacts_bucket is None:
            return None
        key = f"{pipeline_outputs_prefix(pipeline_name)}/{run_id}/Load/drift/drift.json"
        uri = f"s3://{self.artifacts_bucket}/{key}"
        try:
            response = self.s3.get_object(
                Bucket=self.artifacts_bucket, Key=key, Range=f"bytes=0-{self.max_decision_bytes}"
            )
            document = json.loads(response["Body"].read(self.max_decision_bytes + 1))
            return DriftNews(
                verdict=str(document["verdict"]),
                summary=str(document.get("summary", ""))[:2000],
                uri=uri,
            )
        except Exception as exc:
            self._failed("drift", exc, uri=uri)
        return None

    def run_id(self, execution_arn: str) -> str | None:
        """The execution's RunId parameter (ListPipelineParametersForExecution)."""
        try:
            response = self.sagemaker.list_pipeline_parameters_for_execution(
                PipelineExecutionArn=execution_arn, MaxResults=100
            )
            for parameter in response.get("PipelineParameters", []):
                if parameter.get("Name") == "RunId" and isinstance(parameter.get("Value"), str):
                    return str(parameter["Value"])
        except Exception as exc:
            self._failed("run_id", exc, execution_arn=execution_arn)
        return None

    def decision(self, s3_uri: str) -> GateDecision | None:
        """decision.json's decision and reasons, if the object is at most max bytes."""
        if not s3_uri.startswith("s3://") or "/" not in s3_uri[5:]:
            return None
        bucket, _, key = s3_uri[5:].partition("/")
        try:
            # A range read caps what is transferred even if the size check below fails.
            response = self.s3.get_object(
                Bucket=bucket, Key=key, Range=f"bytes=0-{self.max_decision_bytes}"
            )
            total = str(response.get("ContentRange", "")).rpartition("/")[2]
            body = response["Body"].read(self.max_decision_bytes + 1)
            if len(body) > self.max_decision_bytes or (
                total.isdigit() and int(total) > self.max_decision_bytes
            ):
                log_event(self.logger, "lookup.decision_too_large", logging.WARNING, uri=s3_uri)
                return None
            document = json.loads(body)
        except Exception as exc:
            self._failed("decision", exc, uri=s3_uri)
            return None
        if not isinstance(document, dict):
            return None
        reasons = document.get("reasons")
        decision = document.get("decision")
        return GateDecision(
            decision=decision if isinstance(decision, str) else None,
            reasons=tuple(str(r)[:_REASON_MAX] for r in reasons)
            if isinstance(reasons, list)
            else (),
            scores=tuple(line[:_REASON_MAX] for line in decision_scores(document)),
        )

    def model_package_metadata(self, model_package_arn: str) -> Mapping[str, str] | None:
        """CustomerMetadataProperties of a model package (DescribeModelPackage)."""
        try:
            response = self.sagemaker.describe_model_package(ModelPackageName=model_package_arn)
        except Exception as exc:
            self._failed("model_package_metadata", exc, model_package_arn=model_package_arn)
            return None
        metadata = response.get("CustomerMetadataProperties")
        return dict(metadata) if isinstance(metadata, dict) else {}
