"""Host inventory: osquery-shaped tables of what a host (and each container) holds."""
