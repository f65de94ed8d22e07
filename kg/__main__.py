"""`python -m kg`: the same CLI as the `kg` command (named kg in help and completion)."""

from kg.cli import main

main(prog_name="kg")
