"""How the reference generators (make_torch_*.py, run as scripts: this folder is on sys.path)
write their JSON: one case per line, for readable diffs and a compact file; json writes each
float as its repr, so every float64 is exact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_cases(path: Path, meta: dict[str, Any], sections: dict[str, list[Any]]) -> None:
    """{"meta": meta, name: cases, ...}, each case on a line of its own; checked to read back."""
    lines = ["{", f'"meta": {json.dumps(meta)},']
    for index, (name, cases) in enumerate(sections.items()):
        lines.append(f"{json.dumps(name)}: [")
        lines.append(",\n".join(json.dumps(case) for case in cases))
        lines.append("]," if index < len(sections) - 1 else "]")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")
    json.loads(path.read_text())  # well-formed
