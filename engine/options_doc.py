"""docs/options.md: the run schema (engine/schema.py) as a table, generated, never written by hand.

python -m engine.options_doc > docs/options.md
"""

from __future__ import annotations

from .schema import Field, Limits, fields

HEADER = """# Options of a run

Generated from `engine/schema.py` by `python -m engine.options_doc > docs/options.md`; a test
checks that this file matches. Every option's path is also its key in a link's hash
(`#training.lr=0.1&network.layers=2,8,8,1`), in `config` sections, `change` and `set` messages.
"Live" options apply to the running run; the others rebuild it from its seed.

"""


def markdown_table(limits: Limits | None = None) -> str:
    """The options as the Markdown table of docs/options.md; a test checks that the committed
    docs match."""
    rows = [
        "| path (URL key) | kind | default | allowed | applies | help |",
        "|---|---|---|---|---|---|",
    ]
    for entry in fields(limits or Limits()):
        applies = "live" if entry.live else "rebuilds the run"
        rows.append(
            f"| `{entry.path}` | {entry.kind} | {_shown_default(entry)} | {_allowed(entry)} "
            f"| {applies} | {entry.help} |"
        )
    return "\n".join(rows) + "\n"


def _shown_default(entry: Field) -> str:
    if entry.default is None:
        return "none"
    if isinstance(entry.default, list):
        return "`[" + ", ".join(str(item) for item in entry.default) + "]`"
    if isinstance(entry.default, bool):
        return "`true`" if entry.default else "`false`"
    return f"`{entry.default}`"


def _allowed(entry: Field) -> str:
    if entry.choices:
        return ", ".join(f"`{value}`" for value in entry.values)
    if entry.kind == "integers":
        low, high = entry.length
        return f"{low} to {high} {entry.noun}, each in {entry.range}"
    if entry.range is not None:
        text = str(entry.range)
        return text + (" (only with " + ", ".join(entry.when[1]) + ")" if entry.when else "")
    shapes = {"rows": "`[x1, x2, target]` rows", "parameters": "one array per layer, its shape"}
    return shapes.get(entry.kind, "`true`, `false`")


if __name__ == "__main__":  # python -m engine.options_doc > docs/options.md
    print(HEADER + markdown_table(), end="")
