"""The role SageMaker Pipelines and their jobs run as: exactly what the steps touch."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from pkgml_contracts.metrics import NAMESPACES
from stacks.components.access import (
    READ,
    READ_WRITE,
    acknowledge_wildcard_resource,
    allow_key,
    allow_listing,
    allow_objects,
    service_of_this_account,
)
from stacks.naming import ArtifactPrefixes, DataPrefixes

# Compare (the gate's metrics) and Load (rows loaded) put metrics only into these.
METRICS_NAMESPACES = NAMESPACES


class SageMakerExecutionRole(Construct):
    """Execution role of one environment's pipelines and jobs (exposed as `role`).

    Reads extracts (`unload/`), writes predictions (`predictions/`), reads step
    code (`code/`), reads and writes pipeline outputs and models; uses the key
    (including grants for job volumes); creates only this environment's jobs,
    models and model packages (names are generated per execution, so the job
    ARNs are prefix wildcards); pulls only the given framework images.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        data_bucket_name: str,
        artifacts_bucket_name: str,
        key: kms.IKey,
        model_package_groups: Iterable[str],
        in_vpc: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._images: set[str] = set()
        self._images_statement: iam.PolicyStatement | None = None
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=service_of_this_account(stack, "sagemaker.amazonaws.com"),
            description=f"{resource_prefix}: SageMaker pipelines and their jobs",
        )
        role = self.role
        for bucket, prefix, actions, why in (
            (data_bucket_name, DataPrefixes.UNLOAD, READ, "holds the extracts jobs read"),
            (data_bucket_name, DataPrefixes.PREDICTIONS, READ_WRITE, "receives predictions"),
            (artifacts_bucket_name, ArtifactPrefixes.CODE, READ, "holds the step code"),
            (artifacts_bucket_name, ArtifactPrefixes.PIPELINES, READ_WRITE, "holds step outputs"),
            (artifacts_bucket_name, ArtifactPrefixes.MODELS, READ_WRITE, "holds model artifacts"),
        ):
            allow_objects(role, bucket_name=bucket, prefix=prefix, actions=actions, why=why)
        allow_listing(
            role,
            bucket_name=data_bucket_name,
            prefixes=[DataPrefixes.UNLOAD, DataPrefixes.PREDICTIONS],
        )
        allow_listing(
            role,
            bucket_name=artifacts_bucket_name,
            prefixes=[ArtifactPrefixes.CODE, ArtifactPrefixes.PIPELINES, ArtifactPrefixes.MODELS],
        )
        allow_key(role, key)
        # Jobs with VolumeKmsKeyId / OutputKmsKeyId / KmsKeyId: SageMaker describes the key and
        # encrypts with it as the role; only the volume grant is made on the role's behalf.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="UseKeyForJobs",
                actions=["kms:DescribeKey", "kms:Encrypt"],
                resources=[key.key_arn],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EncryptJobVolumes",
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )

        def arn(resource: str, name: str) -> str:
            return stack.format_arn(service="sagemaker", resource=resource, resource_name=name)

        job_resources = [
            arn("processing-job", "pipelines-*"),
            arn("training-job", "pipelines-*"),
            arn("transform-job", "pipelines-*"),
            arn("model", "*"),
        ]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunPipelineJobs",
                actions=[
                    "sagemaker:AddTags",
                    "sagemaker:CreateModel",
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeModel",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:StopTransformJob",
                ],
                resources=job_resources,
            )
        )
        for resource in job_resources:
            acknowledge_wildcard_resource(
                role,
                resource,
                reason="SageMaker Pipelines names jobs and models per execution "
                "('pipelines-<execution id>-...'); the names are unknown at deploy time.",
            )
        groups = sorted(model_package_groups)
        group_arns = [arn("model-package-group", g) for g in groups]
        package_arns = [arn("model-package", f"{g}/*") for g in groups]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RegisterAndReadModelVersions",
                actions=[
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:ListModelPackages",
                ],
                resources=group_arns + package_arns,
            )
        )
        for resource in package_arns:
            acknowledge_wildcard_resource(
                role,
                resource,
                reason="Model package versions are numbered by the registry; the grant is "
                "limited to this environment's group.",
            )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassOnlyToSageMaker",
                actions=["iam:PassRole"],
                resources=[role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        log_groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="JobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                resources=[log_groups],
            )
        )
        acknowledge_wildcard_resource(
            role, log_groups, reason="SageMaker jobs log to per-job streams under /aws/sagemaker/."
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PipelineMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": list(METRICS_NAMESPACES)}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PullImagesToken",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
            )
        )
        acknowledge_wildcard_resource(
            role,
            "*",
            reason="cloudwatch:PutMetricData, ecr:GetAuthorizationToken and the EC2 describe "
            "calls have no resource type (metrics limited to the gate's namespace by "
            "condition); VPC network interfaces are created by SageMaker with generated ids.",
        )
        if in_vpc:
            self._allow_vpc_networking()

    def _allow_vpc_networking(self) -> None:
        """Jobs and models in the configured VPC: SageMaker manages their network interfaces."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunJobsInTheVpc",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                resources=["*"],  # interfaces are created by the service, named on creation
            )
        )

    def allow_images(self, repository_arns: Iterable[str]) -> None:
        """Allow pulling these ECR repositories (the framework containers) too.

        One statement (`PullFrameworkImages`) holds every repository allowed so far: each
        pipeline adds the images its definition names (`SageMakerPipeline`).
        """
        arns = sorted(set(repository_arns) - self._images)
        if not arns:
            return
        self._images.update(arns)
        if self._images_statement is None:
            self._images_statement = iam.PolicyStatement(
                sid="PullFrameworkImages",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                resources=arns,
            )
            self.role.add_to_principal_policy(self._images_statement)
        else:
            self._images_statement.add_resources(*arns)
