"""One SNS subject rule for every publisher: fewer than 100 printable ASCII characters."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from pkgml_contracts.notifications import SUBJECT_MAX, encodable, sns_subject


def test_the_cap_is_what_sns_documents():
    """SNS: 'Subjects must be ... less than 100 characters long'."""
    assert SUBJECT_MAX == 99


@pytest.mark.parametrize(
    "text",
    [
        "x" * 500,
        "[dev] run file rejected (bad_key): runs/training/" + "é" * 200,
        "line one\nline two\ttabbed",
        "\udc80 lone surrogate",
        "",
    ],
)
def test_subjects_are_valid_for_sns(text):
    subject = sns_subject(text)
    assert 0 < len(subject) <= SUBJECT_MAX
    assert all(" " <= c <= "~" for c in subject)


def test_short_subjects_are_kept():
    assert sns_subject("[dev] extract failed: training 2026-11-23") == (
        "[dev] extract failed: training 2026-11-23"
    )


def test_long_subjects_say_they_were_cut():
    assert sns_subject("y" * 120).endswith("...")


def test_lone_surrogates_become_visible_escapes_that_encode():
    text = encodable(json.loads('"bad \\udc80 key"'))
    assert text == "bad \\udc80 key"
    text.encode("utf-8")  # does not raise


@mock_aws
def test_sns_accepts_what_the_rules_produce():
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    raw = json.loads('"runs/training/\\udc80' + "z" * 300 + '"')
    sns.publish(TopicArn=topic, Subject=sns_subject(raw), Message=encodable(raw))
