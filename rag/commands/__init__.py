"""The ``brief`` command line: the commands over the core services (cli.py), desks and history
(cli_desks.py), feeds (feeds_cli.py). No logic beyond parsing, calling and printing.
"""
