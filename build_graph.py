"""Build the knowledge graph: ``python build_graph.py [--corpus DIR] [--out DIR]`` (corpus/ → outputs/)."""

import sys

from kg.cli import build_main

if __name__ == "__main__":
    sys.exit(build_main())
