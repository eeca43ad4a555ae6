"""What deleting a stack does to an environment's stateful resources."""

from __future__ import annotations

from aws_cdk import RemovalPolicy

from stacks.settings import EnvironmentSettings


def removal_policy(environment: EnvironmentSettings) -> RemovalPolicy:
    """RETAIN unless the environment's `removal_policy` is 'destroy' (never allowed in prod)."""
    return (
        RemovalPolicy.DESTROY if environment.removal_policy == "destroy" else RemovalPolicy.RETAIN
    )
