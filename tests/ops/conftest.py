"""Fixtures for the ops CLI: the configured names, moto-backed clients, a CLI runner."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ops.cli import main
from ops.context import cdk_json_context
from stacks.naming import bucket_name, model_package_group_name, pipeline_name
from stacks.settings import AppSettings, EnvironmentSettings, load_settings


@dataclass(frozen=True)
class Names:
    """The dev environment's names, derived the way the stacks derive them."""

    settings: AppSettings
    env: EnvironmentSettings

    @property
    def data_bucket(self) -> str:
        return bucket_name(self.settings.project, "dev", "data", self.env.account, self.env.region)

    def group(self, package_type: str) -> str:
        return model_package_group_name(self.settings.project, "dev", package_type)

    def pipeline(self, kind: Any, package_type: str) -> str:
        return pipeline_name(self.settings.project, "dev", kind, package_type)

    def manifest(self, dataset: str = "training", extract: str = "e-1") -> str:
        return f"s3://{self.data_bucket}/unload/{dataset}/{extract}/manifest"


@pytest.fixture(scope="session")
def names() -> Names:
    """Names of the dev environment in cdk.json."""
    settings = load_settings(cdk_json_context())
    return Names(settings=settings, env=settings.environment("dev"))


@dataclass(frozen=True)
class Outcome:
    """What one CLI invocation printed and returned."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Runner = Callable[..., Outcome]


@pytest.fixture
def make_runner(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[Callable[[str, str], Any]], Runner]:
    """make_runner(client_factory[, clock][, console=terminal]) -> run(*argv, stdin='')
    -> Outcome. Without a console the CLI sees no terminal (captured output)."""

    def make(factory: Callable[[str, str], Any], clock: Any = None, console: Any = None) -> Runner:
        def run(*argv: str, stdin: str = "") -> Outcome:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
            capsys.readouterr()
            code = main(list(argv), client_factory=factory, clock=clock, console=console)
            captured = capsys.readouterr()
            return Outcome(code=code, out=captured.out, err=captured.err)

        return run

    return make


class Clients:
    """boto3 clients shared by the whole session (building one costs 50-300 ms).

    moto intercepts through botocore's built-in handlers, so a client made once serves
    every test's own `mock_aws()` state.
    """

    def __init__(self) -> None:
        self._session = boto3.session.Session()
        self._clients: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        if (service, region) not in self._clients:
            self._clients[service, region] = self._session.client(service, region_name=region)
        return self._clients[service, region]


@pytest.fixture(scope="session")
def clients() -> Clients:
    """The session's client cache; also the CLI's client factory under moto."""
    return Clients()


@pytest.fixture
def aws(names: Names, clients: Clients, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in the dev account and region, with the data bucket created."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", names.env.account)
    with mock_aws():
        clients("s3", names.env.region).create_bucket(Bucket=names.data_bucket)
        yield


@pytest.fixture
def cli(
    aws: None, clients: Clients, make_runner: Callable[[Callable[[str, str], Any]], Runner]
) -> Runner:
    """The CLI against moto."""
    return make_runner(clients)


@pytest.fixture
def s3(names: Names, aws: None, clients: Clients) -> Any:
    """S3 with one valid training manifest and one inference manifest."""
    client = clients("s3", names.env.region)
    for dataset in ("training", "inference-daily"):
        key = names.manifest(dataset).split("/", 3)[3]
        body = json.dumps({"entries": [{"url": "s3://x/part-0", "mandatory": True}]})
        client.put_object(Bucket=names.data_bucket, Key=key, Body=body.encode())
    return client


@pytest.fixture
def sagemaker(names: Names, aws: None, clients: Clients) -> Any:
    return clients("sagemaker", names.env.region)


@pytest.fixture
def make_group(names: Names, sagemaker: Any, clients: Clients) -> Callable[..., list[str]]:
    """make_group('Approved', 'Rejected', ...) -> ARNs of versions 1..n of the mailer group."""
    s3 = clients("s3", names.env.region)
    artifacts = bucket_name(
        names.settings.project, "dev", "artifacts", names.env.account, names.env.region
    )
    s3.create_bucket(Bucket=artifacts)

    def make(*statuses: str, package_type: str = "mailer") -> list[str]:
        group = names.group(package_type)
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
        arns = []
        for number, status in enumerate(statuses, start=1):
            key = f"pipelines/p/r-{number}/Evaluate/evaluation/evaluation.json"
            metrics = {"roc_auc": 0.8 + number / 100, "pr_auc": 0.5, "f1": None}
            s3.put_object(Bucket=artifacts, Key=key, Body=json.dumps({"metrics": metrics}))
            response = sagemaker.create_model_package(
                ModelPackageGroupName=group,
                ModelApprovalStatus=status,
                InferenceSpecification={
                    "Containers": [{"Image": "example.invalid/sklearn:1"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                CustomerMetadataProperties={
                    "run_id": f"r-{number}",
                    "evaluation_s3_uri": f"s3://{artifacts}/{key}",
                    "gate_decision": "approve" if status == "Approved" else "reject",
                },
            )
            arns.append(response["ModelPackageArn"])
        return arns

    return make


@pytest.fixture(scope="session")
def stub_client(names: Names) -> Any:
    """One SageMaker client for the Stubber tests (building one costs 50-300 ms)."""
    return boto3.session.Session().client("sagemaker", region_name=names.env.region)


@pytest.fixture
def stubbed(stub_client: Any) -> Iterator[tuple[Any, Stubber]]:
    """The SageMaker client with a Stubber: every call must be stubbed, in order, and used."""
    with Stubber(stub_client) as stubber:
        yield stub_client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def stub_cli(
    stubbed: tuple[Any, Stubber], make_runner: Callable[[Callable[[str, str], Any]], Runner]
) -> Runner:
    """The CLI with the stubbed SageMaker client as its only AWS client."""
    client, _ = stubbed

    def factory(service: str, region: str) -> Any:
        assert service == "sagemaker"
        return client

    return make_runner(factory)
