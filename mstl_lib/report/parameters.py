"""The parameters page: every notebook's parameters, read from its ``parameters`` cell.

Papermill's own reader (what ``papermill --help-notebook`` prints) gives each parameter's name,
type, default and help, so the page says exactly what a ``-p`` override can change. A test
keeps ``book/parameters.md`` equal to :func:`parameters_page`; after editing a parameters cell,
``python -m mstl_lib.report.parameters --write`` regenerates the page.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mstl_lib.paths import REPO_ROOT

PAGE = REPO_ROOT / "book" / "parameters.md"

INTRODUCTION = """# Notebook parameters

Every chapter is a notebook with one cell tagged `parameters`. Each row below is read from that
cell by papermill's own reader (the same one `papermill --help-notebook` uses), so the page
cannot drift from the notebooks: a test regenerates it and compares. Override a parameter with
`-p name value`, as the README shows, or from `make book` for the four shared ones
(`PROFILE`, `DATA_DIR`, `WEIGHTS`, `SEED`).
"""


def notebook_parameters(path: str | Path) -> list[dict]:
    """``name``, ``type``, ``default`` and ``help`` of each parameter of the jupytext notebook at ``path``."""
    import jupytext  # noqa: PLC0415 - book tooling, not needed to train
    from papermill.translators import PythonTranslator  # noqa: PLC0415

    notebook = jupytext.read(path)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{path}: expected one cell tagged 'parameters', found {len(cells)}")
    return [{"name": p.name, "type": p.inferred_type_name, "default": p.default, "help": p.help}
            for p in PythonTranslator.inspect(cells[0])]


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return path.stem


def parameters_page(folder: str | Path = REPO_ROOT / "notebooks") -> str:
    """The Markdown page: one table per notebook, in file order."""
    parts = [INTRODUCTION]
    for path in sorted(Path(folder).glob("*.py")):
        parts.append(f"## `{path.stem}`: {_title(path)}\n")
        parts.append("| parameter | type | default | what it does |\n|---|---|---|---|")
        parts += [f"| `{p['name']}` | {p['type']} | `{p['default']}` | {p['help'].replace('|', '/')} |"
                  for p in notebook_parameters(path)]
        parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        PAGE.write_text(parameters_page(), encoding="utf-8")
        print(f"wrote {PAGE}")
    else:
        print(parameters_page())
