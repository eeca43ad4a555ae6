"""Operator CLI of the platform: `python -m ops --help` (status, run, retry, models, approve...).

Every resource name comes from the configuration contract (`stacks.settings`) and
`stacks.naming`; nothing here types a bucket, pipeline or group name by hand.
"""
