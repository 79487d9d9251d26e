"""Layer data in and out: reading office files, import, export, reload, the layer data API and CLI.
"""
