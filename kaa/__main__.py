"""`python -m kaa …` is the `kaa` command line (service processes start as `python -m kaa run NAME`)."""

from kaa.cli import main

main()
