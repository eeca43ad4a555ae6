"""Reusable constructs: each wraps one unit of infrastructure with safe defaults."""
