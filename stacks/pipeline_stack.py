"""The CI/CD pipeline (tooling account): test and synth, deploy dev, approve, deploy prod.

```
  source (CodeConnections) -> Synth: make test && make synth -> self-mutate -> assets
     -> Dev stage  -> post-deploy check (pipelines + groups exist)
     -> manual approval "PromoteToProd"
     -> Prod stage -> post-deploy check
```

The same synthesized templates are promoted: the prod stage deploys exactly what
the synth step produced for the commit that passed dev.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk import Acknowledgment, CfnElement, RemovalPolicy, Stack, Validations, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.components.access import acknowledge_wildcard_resource
from stacks.components.secure_bucket import AccessLogsBucket, SecureBucket
from stacks.naming import BOOTSTRAP_QUALIFIER, resource_prefix
from stacks.settings import AppSettings, EnvironmentSettings
from stacks.stage import PlatformStage

# CodeBuild image with Python 3.11+ and make; Node comes from the project's own venv.
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0


def lookup_role_arn(environment: EnvironmentSettings) -> str:
    """The target account's CDK lookup role (ReadOnlyAccess), trusted by the tooling account."""
    return (
        f"arn:aws:iam::{environment.account}:role/"
        f"cdk-{BOOTSTRAP_QUALIFIER}-lookup-role-{environment.account}-{environment.region}"
    )


class PipelineStack(Stack):
    """CDK Pipelines `CodePipeline` promoting the platform's stages in configuration order.

    Every stage is deployed after the previous one; `prod` waits for a manual
    approval. Exposes `pipeline` and `stages` ({environment name: PlatformStage}).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: AppSettings,
        make_stage: Callable[[Construct, EnvironmentSettings], PlatformStage],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        cicd = settings.cicd
        source = pipelines.CodePipelineSource.connection(
            cicd.repository, cicd.branch, connection_arn=cicd.connection_arn
        )
        build_defaults = pipelines.CodeBuildOptions(
            build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE)
        )
        # The pipeline's artifact store with the platform's bucket defaults (access logs,
        # TLS only, versioning); its key is shared with the target accounts' deploy roles.
        self.artifact_key = kms.Key(
            self,
            "ArtifactKey",
            alias=f"alias/{settings.project}-delivery-artifacts",
            description=f"{settings.project}: CI/CD pipeline artifacts",
            enable_key_rotation=True,
            # Kept with the retained artifact bucket, whose objects it encrypts.
            removal_policy=RemovalPolicy.RETAIN,
        )
        logs = AccessLogsBucket(
            self,
            "ArtifactAccessLogs",
            bucket_name=None,
            removal_policy=RemovalPolicy.RETAIN,
            expiry_days=365,
        )
        Validations.of(logs.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the server access log target; logging it into itself would loop.",
            )
        )
        self.artifact_bucket = SecureBucket(
            self,
            "Artifacts",
            bucket_name=None,
            encryption_key=self.artifact_key,
            access_logs_bucket=logs.bucket,
            removal_policy=RemovalPolicy.RETAIN,
            noncurrent_version_expiry_days=30,
        ).bucket
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=f"{settings.project}-delivery",
            artifact_bucket=self.artifact_bucket,
            synth=pipelines.ShellStep(
                "Synth",
                input=source,
                # The README's two commands: every check, then the real synth.
                commands=["make test", "make synth"],
                primary_output_directory="cdk.out",
            ),
            cross_account_keys=True,
            enable_key_rotation=True,
            self_mutation=True,
            docker_enabled_for_synth=False,
            docker_enabled_for_self_mutation=False,
            code_build_defaults=build_defaults,
        )
        self.stages: dict[str, PlatformStage] = {}
        for environment in settings.environments:
            stage = make_stage(self, environment)
            pre: list[pipelines.Step] = []
            if environment.is_production:
                pre.append(
                    pipelines.ManualApprovalStep(
                        "PromoteToProd",
                        comment="Dev is deployed and checked. Promote this commit to prod?",
                    )
                )
            post: list[pipelines.Step] = []
            if cicd.post_deploy_checks:
                post.append(self._check_step(source, environment, settings.project))
            self.pipeline.add_stage(stage, pre=pre, post=post)
            self.stages[environment.name] = stage
        self.pipeline.build_pipeline()
        self._use_connection_with_its_own_prefix(cicd.connection_arn)
        self._acknowledge_pipeline_internals()

    def _check_step(
        self, source: pipelines.IFileSetProducer, environment: EnvironmentSettings, project: str
    ) -> pipelines.CodeBuildStep:
        role_arn = lookup_role_arn(environment)
        return pipelines.CodeBuildStep(
            f"Check-{environment.name}",
            input=source,
            commands=[
                "make setup",
                f".venv/bin/python tools/check_deployment.py --env {environment.name} "
                f"--role-arn {role_arn}",
            ],
            role_policy_statements=[
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[role_arn])
            ],
            project_name=f"{resource_prefix(project, environment.name)}-post-deploy-check",
        )

    def _use_connection_with_its_own_prefix(self, connection_arn: str) -> None:
        """Grant UseConnection under the service prefix of the connection's own ARN.

        The CDK grants `codestar-connections:UseConnection` whatever the ARN. AWS
        CodeConnections (renamed from CodeStar Connections in 2024; the console creates
        `arn:aws:codeconnections:...` connections since July 2024) requires the IAM
        action's prefix to match the resource's: a `codeconnections` ARN needs
        `codeconnections:UseConnection`. Both ARN forms are accepted in `cicd.connection_arn`.
        """
        prefix = connection_arn.split(":")[2]
        if prefix == "codestar-connections":
            return
        for construct in self.node.find_all():
            if not isinstance(construct, iam.CfnPolicy) or Stack.of(construct) is not self:
                continue
            document = self.resolve(construct.policy_document)
            for index, statement in enumerate(document.get("Statement", [])):
                if (
                    statement.get("Action") == "codestar-connections:UseConnection"
                    and statement.get("Resource") == connection_arn
                ):
                    construct.add_property_override(
                        f"PolicyDocument.Statement.{index}.Action", f"{prefix}:UseConnection"
                    )

    def _acknowledge_pipeline_internals(self) -> None:
        """cdk-nag findings on what CDK Pipelines generates, each named on its construct.

        CDK Pipelines grants its own roles the artifact bucket and key with the CDK's
        wildcard grant families, CodeBuild log and report groups named per project,
        and (self-mutation, asset publishing) the bootstrap roles of the target
        accounts; none of these is written by this project.
        """
        stack = Stack.of(self)
        grant_families = (
            "s3:Abort*",
            "s3:DeleteObject*",
            "s3:GetBucket*",
            "s3:GetObject*",
            "s3:List*",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        )
        why = "CDK Pipelines' generated grant on its own artifact store"
        artifacts = f"{self.artifact_bucket.bucket_arn}/*"
        for construct in self.pipeline.node.find_all():
            if construct.node.id not in ("Role", "CodePipelineActionRole", "FileRole"):
                continue
            role = construct
            for action in grant_families:
                Validations.of(role).acknowledge(
                    Acknowledgment(id=f"AwsSolutions-IAM5[Action::{action}]", reason=why)
                )
            acknowledge_wildcard_resource(role, artifacts, reason=why)  # type: ignore[arg-type]
            acknowledge_wildcard_resource(
                role,  # type: ignore[arg-type]
                "*",
                reason="CDK Pipelines: actions without resource types (e.g. "
                "codebuild:CreateReportGroup checks, cloudformation:DescribeStacks).",
            )
        for project in self.pipeline.node.find_all():
            if not isinstance(project, codebuild.Project) or project.role is None:
                continue
            cfn_project = project.node.default_child
            assert isinstance(cfn_project, CfnElement)
            logical_id = stack.resolve(stack.get_logical_id(cfn_project))
            for resource in (
                f"arn:aws:logs:{stack.region}:{stack.account}:log-group:/aws/codebuild/"
                f"<{logical_id}>:*",
                f"arn:aws:codebuild:{stack.region}:{stack.account}:report-group/<{logical_id}>-*",
            ):
                Validations.of(project.role).acknowledge(
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::{resource}]",
                        reason="CodeBuild writes per-build log streams and report groups.",
                    )
                )
        assets_role = self.pipeline.node.try_find_child("Assets")
        if assets_role is not None:
            for resource in (
                f"arn:aws:logs:{stack.region}:{stack.account}:log-group:/aws/codebuild/*",
                f"arn:aws:codebuild:{stack.region}:{stack.account}:report-group/*",
            ):
                Validations.of(assets_role).acknowledge(
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::{resource}]",
                        reason="CDK Pipelines' asset-publishing projects share one role.",
                    )
                )
        self._acknowledge_replication_buckets()
        mutation = self.pipeline.node.try_find_child("UpdatePipeline")
        if mutation is not None:
            Validations.of(mutation).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::arn:*:iam::{stack.account}:role/*]",
                    reason="Self-mutation assumes the CDK bootstrap roles to update itself.",
                )
            )

    def _acknowledge_replication_buckets(self) -> None:
        """CodePipeline's cross-region support stacks: one replication bucket per region."""
        role = self.pipeline.pipeline.role
        for child in self.node.root.node.children:
            if not child.node.id.startswith("cross-region-stack-"):
                continue
            bucket = child.node.find_child("Default").node.find_child(
                "CrossRegionCodePipelineReplicationBucket"
            )
            Validations.of(bucket).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-S1",
                    reason="CodePipeline's own cross-region replication bucket (a support "
                    "stack the CDK generates) holds transient, KMS-encrypted artifacts.",
                )
            )
            name = Stack.of(self).resolve(bucket.bucket_name)  # type: ignore[attr-defined]
            acknowledge_wildcard_resource(
                role,
                f"arn:aws:s3:::{name}/*",
                reason="CDK Pipelines' grant on its cross-region replication bucket.",
            )
