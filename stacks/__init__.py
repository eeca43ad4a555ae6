"""CDK stacks and constructs of the packaging ML platform."""
