"""`python -m shared …` is the `kaa` command line (used to start service processes)."""

from shared.cli import main

main()
