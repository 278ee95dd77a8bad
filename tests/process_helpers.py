"""The processes of a server started as the console script, read from /proc (Linux)."""

from __future__ import annotations

from pathlib import Path


def process_tree(pid: int) -> list[int]:
    """`pid` and its live descendants: with `--workers N`, the supervisor, its workers (they do
    the serving) and multiprocessing's resource tracker."""
    tree, index = [pid], 0
    while index < len(tree):
        children = Path(f"/proc/{tree[index]}/task/{tree[index]}/children")
        tree += [int(child) for child in children.read_text().split()]
        index += 1
    return tree
