"""Build the knowledge graph: ``python build_graph.py [--corpus DIR] [--out DIR]`` (corpus/ → outputs/)."""

from kg.cli import build_main, exit_process

if __name__ == "__main__":
    exit_process(build_main())
