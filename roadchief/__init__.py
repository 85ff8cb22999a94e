"""The ``roadchief`` command: one entry point for the server, the app and the street office's tools."""

__all__: list[str] = []
