"""`python -m stockade.cli` runs the `stockade` command."""

from stockade.cli.main import app

app()
