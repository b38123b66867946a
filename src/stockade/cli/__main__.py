"""`python -m stockade.cli` runs the `stockade` command."""

from stockade.cli.entry import main

main()
