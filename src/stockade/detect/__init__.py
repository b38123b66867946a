"""Detectors: rules on single events, correlation, learned profiles, drift."""
