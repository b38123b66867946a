"""Secret detection: rules as YAML data, a keyword-filtered regex engine, redacted matches."""
