"""Operator CLI of the platform: `python -m ops --help` (status, run, retry, models, approve...).

Every resource name comes from the configuration contract (`stacks.settings`) and
`pkgml_contracts.names`, as the stacks' do; nothing here types a bucket, pipeline or group
name by hand.
"""
