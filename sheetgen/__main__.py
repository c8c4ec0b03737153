"""``python -m sheetgen`` runs the command-line tool."""

from .cli import run

run()
