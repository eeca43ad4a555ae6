"""Step scripts shipped to S3 at content-addressed prefixes: `code/<sha256 of a bundle>/`."""

from __future__ import annotations

import ast
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Acknowledgment, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from pipeline_defs.placeholders import ARCHITECTURE_BUNDLE_PREFIX
from stacks.components.access import acknowledge_wildcard_resource, allow_key, allow_objects
from stacks.components.staging import stage
from stacks.naming import BOOTSTRAP_QUALIFIER, ArtifactPrefixes

STEP_CODE_DIR = Path(__file__).resolve().parents[2] / "pipeline_defs" / "steps"
STAGING_ROOT = Path(__file__).resolve().parents[2] / ".cache" / "step-code"
CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "pkgml_contracts"
ARCHITECTURES_DIR = Path(__file__).resolve().parents[2] / "pipeline_defs" / "architectures"


_DYNAMIC_IMPORTERS = ("_sibling", "import_module")


@dataclass(frozen=True)
class _Facts:
    """What the bundler needs to know of one Python file (one parse, one walk)."""

    imported: frozenset[str]  # module names it imports, statically or by literal name
    strings: frozenset[str]  # its string literals
    imports_contracts: bool


@functools.cache
def _facts_of(path: Path, mtime_ns: int, size: int) -> _Facts:
    """`_Facts` of `path` as it was at (mtime, size): a synth asks about the same files
    many times (every stage bundles every script); a changed file is read again."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imported: set[str] = set()
    strings: set[str] = set()
    contracts = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[-1] for alias in node.names}
            contracts |= any(a.name.split(".")[0] == CONTRACTS_DIR.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                imported.add(node.module.split(".")[-1])
            imported |= {alias.name for alias in node.names}
            contracts |= (node.module or "").split(".")[0] == CONTRACTS_DIR.name
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0]
            if name in _DYNAMIC_IMPORTERS and isinstance(first, ast.Constant):
                imported.add(str(first.value).split(".")[-1])
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.add(node.value)
    return _Facts(frozenset(imported), frozenset(strings), contracts)


def _facts(path: Path) -> _Facts:
    status = path.stat()
    return _facts_of(path.resolve(), status.st_mtime_ns, status.st_size)


def _sibling_imports(path: Path, siblings: set[str]) -> set[str]:
    """Names of sibling modules `path` imports.

    Static imports (`import features`, `from manifest import x`, also relative ones)
    and dynamic ones by literal name (`_sibling("split")`, `import_module("features")`).
    """
    return set(_facts(path).imported & siblings)


def _data_files_named(path: Path, data_files: set[str]) -> set[str]:
    """Data files (e.g. 'predictions_table.sql') `path` names in a string literal."""
    return set(_facts(path).strings & data_files)


def _imports_contracts(path: Path) -> bool:
    """True if `path` imports the shared `pkgml_contracts` package."""
    return _facts(path).imports_contracts


def bundle_name(path: Path) -> str:
    """Where `path` lies inside a bundle: contracts keep their package folder."""
    if path.parent == CONTRACTS_DIR:
        return f"{CONTRACTS_DIR.name}/{path.name}"
    return path.name


def _with_imports(start: list[Path], modules: dict[str, Path], data: dict[str, Path]) -> list[Path]:
    """`start`, every step module they import (transitively), the data files those name,
    and the `pkgml_contracts` package if any of them imports it."""
    files, pending = list(start), list(start)
    needed = {p.stem for p in start}
    while pending:
        for name in _sibling_imports(pending.pop(), set(modules)) - needed:
            needed.add(name)
            files.append(modules[name])
            pending.append(modules[name])
    files += [data[n] for m in list(files) for n in _data_files_named(m, set(data))]
    if any(_imports_contracts(m) for m in files if m.suffix == ".py"):
        files += sorted(CONTRACTS_DIR.glob("*.py"))
    return sorted(set(files))


def _step_modules(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    modules = {p.stem: p for p in folder.glob("*.py") if p.stem != "__init__"}
    data = {p.name: p for p in folder.iterdir() if p.is_file() and p.suffix in (".sql", ".json")}
    return modules, data


def code_bundles(folder: Path = STEP_CODE_DIR) -> dict[str, list[Path]]:
    """{script stem: [the script, every sibling module it imports (transitively), the
    data files those modules name, and the `pkgml_contracts` package if any imports it]}."""
    modules, data = _step_modules(folder)
    return {stem: _with_imports([path], modules, data) for stem, path in sorted(modules.items())}


def architecture_bundles(
    root: Path | None = None, steps: Path = STEP_CODE_DIR
) -> dict[str, list[Path]]:
    """{'arch-<name>': the architecture folder's files (programs, declaration, data), the
    step modules its programs import, and the contracts if imported}, one per folder.

    The bundle is flat, as the training container's code channel and the model's `code/`
    folder see it; a folder file named like a step module is an error.
    """
    modules, data = _step_modules(steps)
    bundles = {}
    for declaration in sorted((root or ARCHITECTURES_DIR).glob("*/architecture.json")):
        folder = declaration.parent
        own = sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix in (".py", ".json", ".txt") and p.name != "__init__.py"
        )
        clashes = sorted({p.name for p in own} & {f"{m}.py" for m in modules})
        if clashes:
            raise ValueError(
                f"{folder.name}: files {clashes} are named like step modules "
                "(pipeline_defs/steps); the flat bundle would shadow them: rename them"
            )
        files = _with_imports(own, modules, data)
        bundles[f"{ARCHITECTURE_BUNDLE_PREFIX}{folder.name}"] = files
    return bundles


def all_bundles() -> dict[str, list[Path]]:
    """Every code bundle a pipeline runs: the step scripts' and the architectures'."""
    return {**code_bundles(), **architecture_bundles()}


def bundle_hash(files: list[Path]) -> str:
    """sha256 over bundle names and contents: changes exactly when one of `files` changes."""
    digest = hashlib.sha256()
    for path in sorted(files, key=bundle_name):
        digest.update(bundle_name(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def bundle_hashes(folder: Path | None = None) -> dict[str, str]:
    """{bundle name: content address}: every bundle, or the step scripts of `folder`."""
    bundles = all_bundles() if folder is None else code_bundles(folder)
    return {stem: bundle_hash(files) for stem, files in bundles.items()}


def stage_bundles(folder: Path | None = None, root: Path = STAGING_ROOT) -> Path:
    """Lay out `<root>/<combined hash>/<bundle hash>/<files>` once; return that directory.

    Every bundle by default; only the step scripts of `folder` when one is given.
    """
    bundles = all_bundles() if folder is None else code_bundles(folder)
    files = {
        f"{bundle_hash(paths)}/{bundle_name(path)}": path
        for paths in bundles.values()
        for path in paths
    }
    return stage(files, root)


class StepCode(Construct):
    """Uploads each step script with its sibling imports to `s3://<bucket>/code/<hash>/`.

    One folder per entry script (`bundles`: {script stem: hash}), addressed by the
    content of exactly the files that script runs. The pipeline definitions point at
    those folders, so the SageMaker step cache survives redeploys without code changes
    and misses for exactly the steps whose code changed. Old folders are kept (a
    running pipeline may still use them). The upload function logs to `log_group`
    (encrypted with `key`, kept `log_retention`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        bucket_name: str,
        key: kms.IKey,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bundles = bundle_hashes()
        staged = stage_bundles()
        role = iam.Role(
            self,
            "DeployRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Copies pipeline step code into the artifacts bucket",
        )
        allow_objects(
            role,
            bucket_name=bucket_name,
            prefix=ArtifactPrefixes.CODE,
            actions=("s3:GetObject", "s3:PutObject"),
            why="holds content-addressed step code",
        )
        allow_key(role, key)
        # The upload function logs here (a failed deploy leaves something to read).
        self.log_group = logs.LogGroup(
            self,
            "UploadLogs",
            retention=log_retention,
            encryption_key=key,
            removal_policy=removal_policy,
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        # Referenced by name so the CDK's grants name a literal ARN (cdk-nag can match it).
        destination = s3.Bucket.from_bucket_attributes(
            self, "Destination", bucket_name=bucket_name, encryption_key=key
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Upload",
            destination_bucket=destination,
            destination_key_prefix=ArtifactPrefixes.CODE,
            sources=[s3deploy.Source.asset(str(staged))],
            prune=False,
            retain_on_delete=True,
            role=role,
            server_side_encryption=s3deploy.ServerSideEncryption.AWS_KMS,
            server_side_encryption_aws_kms_key_id=key.key_arn,
            memory_limit=256,
            log_group=self.log_group,
        )
        self.role = role
        self._acknowledge_cdk_deployment_function(bucket_name)

    def _acknowledge_cdk_deployment_function(self, bucket_name: str) -> None:
        """The uploader is the CDK's own BucketDeployment function: its grants are the CDK's.

        BucketDeployment adds `grant_read` on the bootstrap asset bucket and
        `grant_read_write` on the destination to the role it runs as; those CDK
        grants use wildcard actions. Each resulting finding is acknowledged here,
        on this role only. The function's runtime is chosen by the CDK release.
        """
        stack = Stack.of(self)
        why = "CDK BucketDeployment's built-in grant (copies step code at deploy time)"
        for action in (
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
            "s3:GetBucket*",
            "s3:GetObject*",
            "s3:List*",
            "s3:Abort*",
            "s3:DeleteObject*",
        ):
            Validations.of(self.role).acknowledge(
                Acknowledgment(id=f"AwsSolutions-IAM5[Action::{action}]", reason=why)
            )
        for resource in (
            f"arn:{stack.partition}:s3:::{bucket_name}/*",
            f"arn:{stack.partition}:s3:::cdk-{BOOTSTRAP_QUALIFIER}-assets-{stack.account}-"
            f"{stack.region}/*",
        ):
            acknowledge_wildcard_resource(self.role, resource, reason=why)
        for child in stack.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                Validations.of(child).acknowledge(
                    Acknowledgment(
                        id="AwsSolutions-L1",
                        reason="The CDK release pins BucketDeployment's Lambda runtime.",
                    )
                )
