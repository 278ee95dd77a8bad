"""docs/settings.md: the server's Settings (server/config.py) as a table, with the console
script's option for each one it sets; generated, never written by hand.

python -m server.settings_doc > docs/settings.md
"""

from __future__ import annotations

import dataclasses
from typing import Any

from server.cli_options import SETTING_OF, option_parser
from server.config import Settings

HEADER = """# Server settings

Generated from `server/config.py` by `python -m server.settings_doc > docs/settings.md`; a test
checks that this file matches. These are one server process's limits and pacing (the protocol
in [protocol.md](protocol.md) says how each is enforced); the options of a run are in
[options.md](options.md). `backprop-lab --help` says how the options' defaults combine
(`--workers` with `--redis`, `--max-per-address` within `--max-connections`).

"""


def options() -> dict[str, str]:
    """Setting name → the console script's option that sets it."""
    flags = {action.dest: action.option_strings[0] for action in option_parser()._actions}
    return {setting: flags[dest] for dest, setting in SETTING_OF.items()}


def markdown_table() -> str:
    """The settings as the Markdown table of docs/settings.md."""
    defaults, flags = Settings(), options()
    rows = ["| setting | default | option | what |", "|---|---|---|---|"]
    for entry in dataclasses.fields(Settings):
        flag = f"`{flags[entry.name]}`" if entry.name in flags else ""
        default = _shown(getattr(defaults, entry.name))
        rows.append(f"| `{entry.name}` | {default} | {flag} | {entry.metadata['help']} |")
    return "\n".join(rows) + "\n"


def _shown(value: Any) -> str:
    if value is None or value == ():
        return "none"
    if isinstance(value, float) and value.is_integer():
        return f"`{value:g}`"
    return f"`{value}`"


if __name__ == "__main__":  # python -m server.settings_doc > docs/settings.md
    print(HEADER + markdown_table(), end="")
