"""Runtime protection: workload groups, their modes, learned behaviour profiles and drift."""
