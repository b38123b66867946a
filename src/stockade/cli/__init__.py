"""The `stockade` command (typer + rich)."""
