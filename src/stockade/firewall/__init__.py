"""The learned container firewall: flows between workload groups, allow-lists, nftables."""
