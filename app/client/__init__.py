"""The ``fairboard`` command-line client: submit from scripts and notebooks over the REST API.

It imports only httpx, typer, rich and platformdirs, never the server's code, so it works
against any Fairboard server from a machine that has none of the server's dependencies.
"""
