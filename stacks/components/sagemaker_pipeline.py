"""A SageMaker pipeline from a definition built offline, with the platform's safe defaults."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from aws_cdk import Stack
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IDependable

from pipeline_defs.placeholders import Placeholders, code_placeholder, placeholder_values
from stacks.components.execution_role import SageMakerExecutionRole

_IMAGE = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([a-z0-9._/-]+):")

MAX_DEFINITION_CHARACTERS: Final = 1_048_576
"""CreatePipeline's limit on PipelineDefinitionBody."""


def image_repository_arns(definition: str, partition: str) -> set[str]:
    """ECR repository ARNs of every container image a definition names."""
    return {
        f"arn:{partition}:ecr:{region}:{account}:repository/{repository}"
        for account, region, repository in _IMAGE.findall(definition)
    }


@dataclass(frozen=True, kw_only=True)
class PipelineResources:
    """What a definition's placeholders (`pipeline_defs.placeholders`) stand for in one
    environment: every pipeline of the environment is given the same."""

    execution_role: SageMakerExecutionRole
    artifacts_bucket_name: str
    data_bucket_name: str
    key_arn: str
    resolve_function_arn: str
    redshift_role_arn: str
    code_bundles: Mapping[str, str] = field(default_factory=dict)
    """{bundle name: content hash} of the step code shipped (`StepCode.bundles`)."""
    code_deployment: IDependable | None = None
    """What ships the step code (`StepCode.deployment`): pipelines are created after it."""

    def replacements(self) -> dict[str, str]:
        """{placeholder: deployed value}, code bundles first (their placeholders extend
        CODE_PREFIX; each is followed by '/' in a URI, so none can match inside another)."""
        placeholders = placeholder_values()
        table = {
            f"{code_placeholder(f'{stem}.py')}/": f"{digest}/"
            for stem, digest in self.code_bundles.items()
        }
        table |= {
            placeholders["ROLE_ARN"]: self.execution_role.role.role_arn,
            placeholders["ARTIFACTS_BUCKET"]: self.artifacts_bucket_name,
            placeholders["DATA_BUCKET"]: self.data_bucket_name,
            placeholders["KMS_KEY_ARN"]: self.key_arn,
            placeholders["RESOLVE_FUNCTION_ARN"]: self.resolve_function_arn,
            placeholders["REDSHIFT_ROLE_ARN"]: self.redshift_role_arn,
        }
        return table


def resolve_placeholders(definition: str, replacements: Mapping[str, str]) -> str:
    """`definition` with every placeholder replaced; ValueError naming any left over (a
    step code bundle that is not shipped, a placeholder with no value)."""
    for placeholder, value in replacements.items():
        definition = definition.replace(placeholder, value)
    left = sorted(
        name for name, placeholder in placeholder_values().items() if placeholder in definition
    )
    if left:
        bundles = sorted(
            set(re.findall(re.escape(Placeholders.CODE_PREFIX) + r"-([A-Za-z0-9_-]+)", definition))
        )
        detail = f" (step code bundles not shipped: {', '.join(bundles)})" if bundles else ""
        raise ValueError(f"placeholders without a value: {', '.join(left)}{detail}")
    return definition


class SageMakerPipeline(Construct):
    """An `AWS::SageMaker::Pipeline` from a definition built offline with placeholders.

    Safe defaults: every placeholder is replaced by its deployed value (synth fails if one
    is left, e.g. a step code bundle that is not shipped); the pipeline runs as the
    execution role, which may pull exactly the images the definition names; it is created
    after the step code is shipped and after `model_package_group`; its display name is
    its name. The definition must be a JSON object of at most 1,048,576 characters.

    The resource is this construct's default child (id "Default"), so its logical ID is
    the one a `CfnPipeline` with this construct's id would have. Exposes `pipeline` and
    `pipeline_name`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        description: str,
        definition: str,
        resources: PipelineResources,
        model_package_group: sagemaker.CfnModelPackageGroup | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        try:
            parsed = json.loads(definition)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ValueError(f"{pipeline_name}: the definition is not a JSON object")
        if len(definition) > MAX_DEFINITION_CHARACTERS:
            raise ValueError(
                f"{pipeline_name}: the definition has {len(definition)} characters; "
                f"CreatePipeline accepts at most {MAX_DEFINITION_CHARACTERS}"
            )
        try:
            body = resolve_placeholders(definition, resources.replacements())
        except ValueError as error:
            raise ValueError(f"{pipeline_name}: {error}") from None
        execution_role = resources.execution_role
        execution_role.allow_images(image_repository_arns(definition, Stack.of(self).partition))
        self.pipeline_name = pipeline_name
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Default",
            pipeline_name=pipeline_name,
            pipeline_display_name=pipeline_name,
            pipeline_description=description,
            role_arn=execution_role.role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": body},
        )
        if resources.code_deployment is not None:
            self.pipeline.node.add_dependency(resources.code_deployment)
        if model_package_group is not None:
            self.pipeline.add_resource_dependency(model_package_group)
