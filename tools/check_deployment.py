"""Post-deploy check: every pipeline and registry group of one environment exists.

Run by the CI/CD pipeline after each stage (and by people after `cdk deploy`):

    python tools/check_deployment.py --env dev [--role-arn ARN] [-c key=value ...]

Names come from the same configuration and naming functions as the app. With
`--role-arn` the check assumes that role first (the pipeline uses the target
account's read-only CDK lookup role). Exit code 0 when everything exists, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stacks.naming import architecture_pipelines, model_package_group_name, pipeline_name
from stacks.settings import ConfigError, cdk_json_context, load_settings, parse_overrides


def expected_resources(
    project: str,
    environment: str,
    package_types: Sequence[str],
    architecture_pipelines: Mapping[str, Mapping[str, str]] | None = None,
) -> list[tuple[str, str]]:
    """[(kind, name)] for every pipeline and group the environment must have.

    `architecture_pipelines` ({package type: {architecture: pipeline}}) adds the training
    pipelines of the extra deployed architectures.
    """
    expected = []
    for package_type in package_types:
        for kind in ("training", "inference"):
            expected.append(("pipeline", pipeline_name(project, environment, kind, package_type)))
        for name in sorted((architecture_pipelines or {}).get(package_type, {}).values()):
            if ("pipeline", name) not in expected:
                expected.append(("pipeline", name))
        expected.append(("group", model_package_group_name(project, environment, package_type)))
    return expected


def check(client: Any, expected: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """[(kind, name, status)] where status is 'ok' or what is wrong."""
    results = []
    for kind, name in expected:
        try:
            if kind == "pipeline":
                status = client.describe_pipeline(PipelineName=name).get("PipelineStatus", "?")
                results.append((kind, name, "ok" if status == "Active" else f"status {status}"))
            else:
                client.describe_model_package_group(ModelPackageGroupName=name)
                results.append((kind, name, "ok"))
        except Exception as error:  # report every failure, not only the first
            results.append((kind, name, _problem(error)))
    return results


def _problem(error: Exception) -> str:
    """'missing' for not-found answers (ResourceNotFound, or a ValidationException saying so)."""
    details = getattr(error, "response", {}).get("Error", {})
    code, message = details.get("Code", ""), details.get("Message", "").lower()
    if code == "ResourceNotFound" or (
        code == "ValidationException" and ("could not find" in message or "not exist" in message)
    ):
        return "missing"
    return f"error {code or type(error).__name__}: {details.get('Message', error)}"


def sagemaker_client(region: str, role_arn: str | None) -> Any:
    """A SageMaker client in `region`, as `role_arn` when given."""
    import boto3

    if not role_arn:
        return boto3.client("sagemaker", region_name=region)
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName="pkgml-post-deploy-check"
    )["Credentials"]
    return boto3.client(
        "sagemaker",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    """Entry point; `client` is injectable for tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="environment name, e.g. dev")
    parser.add_argument("--role-arn", help="assume this role first (cross-account check)")
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a configuration override, as with cdk -c",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings({**cdk_json_context(), **parse_overrides(args.context)})
        environment = settings.environment(args.env)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 1
    client = client or sagemaker_client(environment.region, args.role_arn)
    deployed = {t: environment.deployed_architectures(t) for t in settings.package_types}
    results = check(
        client,
        expected_resources(
            settings.project,
            environment.name,
            settings.package_types,
            architecture_pipelines(settings.project, environment.name, deployed),
        ),
    )
    width = max(len(name) for _, name, _ in results)
    for kind, name, status in results:
        print(f"{kind:<9}{name:<{width + 2}}{status}")
    failed = [r for r in results if r[2] != "ok"]
    print(f"{len(results) - len(failed)}/{len(results)} present in {environment.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
