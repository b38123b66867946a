"""Misconfiguration checks as data (checks.yaml) over Dockerfiles and image configs."""
