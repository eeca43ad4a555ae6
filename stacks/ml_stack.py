"""ML layer of one environment: registry groups, execution role, step code, pipelines."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from pipeline_defs.inputs import TrainingPipelineInputs
from stacks.components.access import acknowledge_wildcard_resource
from stacks.components.execution_role import SageMakerExecutionRole
from stacks.components.function import PlatformFunction
from stacks.components.lifecycle import removal_policy
from stacks.components.redshift_data_api import allow_data_api
from stacks.components.sagemaker_pipeline import PipelineResources, SageMakerPipeline
from stacks.components.step_code import StepCode
from stacks.naming import (
    model_package_group_name,
    resource_prefix,
)
from stacks.pipeline_definitions import pipeline_definition
from stacks.pipeline_plan import plan_pipelines
from stacks.settings import EnvironmentSettings

# What the jobs call from inside the VPC (processing containers there have no internet):
# Split and Prepare read and write S3; Compare asks the registry, reads S3 and publishes
# the gate's metrics; Load runs the Redshift Data API and publishes the rows it loaded.
VPC_ENDPOINTS_FOR_JOBS = (
    ("com.amazonaws.{region}.s3", "Gateway", "every job: extracts, step code, outputs"),
    ("com.amazonaws.{region}.sagemaker.api", "Interface", "Compare: the champion"),
    ("com.amazonaws.{region}.monitoring", "Interface", "Compare, Load: their metrics"),
    ("com.amazonaws.{region}.redshift-data", "Interface", "Load: COPY and merge"),
)


def vpc_warning(region: str, subnets: tuple[str, ...]) -> str:
    """The synth-time reminder of what a VPC must provide to the jobs in `subnets`."""
    needed = "; ".join(
        f"{name.format(region=region)} ({kind}, {why})"
        for name, kind, why in VPC_ENDPOINTS_FOR_JOBS
    )
    return (
        f"ml.subnets is set ({', '.join(subnets)}): jobs run there without internet access. "
        f"Give those subnets a NAT gateway, or these VPC endpoints: {needed}. "
        "See the README, 'Before the first deploy'."
    )


class MlStack(Stack):
    """One training and one inference pipeline, and one registry group, per package type.

    Definitions are generated at synth (no AWS call) with placeholders; each becomes a
    `SageMakerPipeline`, which replaces them by the role, buckets, key, code bundles and
    resolve function of this environment (`PipelineResources`).
    Exposes `role`, `groups`, `training_pipelines`, `inference_pipelines`,
    `resolve_function`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        package_types: tuple[str, ...],
        environment: EnvironmentSettings,
        data_bucket_name: str,
        artifacts_bucket: s3.IBucket,
        artifacts_bucket_name: str,
        key: kms.IKey,
        redshift_role: iam.IRole,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        env_name = environment.name
        prefix = resource_prefix(project, env_name)
        removal = removal_policy(environment)
        group_names = {t: model_package_group_name(project, env_name, t) for t in package_types}

        self.groups: dict[str, sagemaker.CfnModelPackageGroup] = {}
        for package_type, group in group_names.items():
            cfn_group = sagemaker.CfnModelPackageGroup(
                self,
                f"Group-{package_type}",
                model_package_group_name=group,
                model_package_group_description=(
                    f"{prefix}: '{package_type}' suitability classifiers; the newest "
                    "Approved version serves inference"
                ),
            )
            cfn_group.apply_removal_policy(removal)
            self.groups[package_type] = cfn_group

        execution = SageMakerExecutionRole(
            self,
            "Execution",
            resource_prefix=prefix,
            data_bucket_name=data_bucket_name,
            artifacts_bucket_name=artifacts_bucket_name,
            key=key,
            model_package_groups=group_names.values(),
            in_vpc=bool(environment.ml.subnets),
        )
        self.role = execution.role
        if environment.ml.subnets:
            Annotations.of(self).add_warning_v2(
                "pkgml:vpc-endpoints", vpc_warning(environment.region, environment.ml.subnets)
            )
        code = StepCode(
            self,
            "StepCode",
            bucket=artifacts_bucket,
            bucket_name=artifacts_bucket_name,
            key=key,
            removal_policy=removal,
        )

        self.resolve_function = PlatformFunction(
            self,
            "ResolveModel",
            folder="resolve_model",
            handler="resolve_handler.handler",
            description=f"{env_name}: latest Approved model package of a group",
            encryption_key=key,
            removal_policy=removal,
            timeout_seconds=30,
            # one call per execution: every package type's daily, monthly and weekly runs
            reserved_concurrency=10,
            environment={"ALLOWED_GROUPS": json.dumps(sorted(group_names.values()))},
        )
        resolve_role = self.resolve_function.role
        # ListModelPackages authorizes against the `model-package` resource type only
        # (Service Authorization Reference); a group ARN matches nothing.
        package_versions = [
            self.format_arn(service="sagemaker", resource="model-package", resource_name=f"{g}/*")
            for g in sorted(group_names.values())
        ]
        resolve_role.add_to_principal_policy(
            iam.PolicyStatement(
                # Describe: the champion's architecture decides the transform input's columns
                actions=["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                resources=package_versions,
            )
        )
        for resource in package_versions:
            acknowledge_wildcard_resource(
                resolve_role,
                resource,
                reason="Model package versions are numbered by the registry; the grant is "
                "limited to this environment's groups.",
            )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokeResolveStep",
                actions=["lambda:InvokeFunction"],
                resources=[self.resolve_function.function.function_arn],
            )
        )
        allow_data_api(self.role, environment.redshift, batch=True)

        resources = PipelineResources(
            execution_role=execution,
            artifacts_bucket_name=artifacts_bucket_name,
            data_bucket_name=data_bucket_name,
            key_arn=key.key_arn,
            resolve_function_arn=self.resolve_function.function.function_arn,
            redshift_role_arn=redshift_role.role_arn,
            code_bundles=code.bundles,
            code_deployment=code.deployment,
        )
        self.training_pipelines: dict[str, sagemaker.CfnPipeline] = {}
        self.inference_pipelines: dict[str, sagemaker.CfnPipeline] = {}
        self.architecture_pipelines: dict[tuple[str, str], sagemaker.CfnPipeline] = {}
        # Definitions missing from the cache were started when the app was built (in
        # parallel); each is read here, waiting for its build if it is still running.
        for plan in plan_pipelines(project, package_types, environment):
            inputs = plan.inputs
            pipeline = SageMakerPipeline(
                self,
                plan.construct_id,
                pipeline_name=inputs.pipeline_name,
                description=f"{prefix}: {plan.description}",
                definition=pipeline_definition(plan.kind, inputs),
                resources=resources,
                model_package_group=self.groups[plan.package_type],
            ).pipeline
            if isinstance(inputs, TrainingPipelineInputs):
                self.architecture_pipelines[(plan.package_type, inputs.architecture.name)] = (
                    pipeline
                )
                if inputs.architecture.name == plan.configured_architecture:
                    self.training_pipelines[plan.package_type] = pipeline
            else:
                self.inference_pipelines[plan.package_type] = pipeline
        self.functions = [self.resolve_function]
        self.dead_letter_queues = {
            "resolve-failed-invocations": self.resolve_function.dead_letter_queue
        }
