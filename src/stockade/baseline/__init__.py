"""Baseline checks: security baseline policies as YAML data, and the small engine running them."""
