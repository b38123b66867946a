"""Response actions (kill, freeze, isolate, block exec, quarantine), their registry and the
response policies that choose them for alerts."""
