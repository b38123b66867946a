"""Stockade's default correlations: YAML beside the default rules, loaded with them."""
