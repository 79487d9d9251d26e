"""`python -m layers.cli`: the layer commands of layers/data/cli.py, run with the app's
configuration but without loading its data (for when `flask --app server` cannot start)."""

from layers.data.cli import main

if __name__ == "__main__":
    main()
