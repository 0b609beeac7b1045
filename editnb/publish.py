"""The committed notebooks show the paper run: copy the outputs of ``make figures`` into them.

``make figures`` executes every notebook in paper mode with papermill into ``build/notebooks/``
and writes ``figures/`` and ``results/``; :func:`publish` then copies each executed notebook's
outputs into the committed notebook of the same name, so that a reader sees the numbers of the
run that drew the figures.  The code of the two must be the same cell for cell (otherwise the
outputs would belong to other code, and publishing stops with the first differing cell); the
committed notebook's markdown is kept, and papermill's injected parameters cell is left out, so
that CI can still run the committed notebook in CI mode (nbval compares only the cells marked
``# NBVAL_CHECK_OUTPUT``, which print what both modes print).

    python -m editnb.publish build/notebooks notebooks/01_nll_derivation.ipynb ...
    python -m editnb.publish --mode notebooks/01_nll_derivation.ipynb   # prints "paper" or "ci"
"""
from __future__ import annotations

import argparse
import configparser
import json
import re
from pathlib import Path

from .results import write_text

INJECTED = "injected-parameters"
CHECKED = "# NBVAL_CHECK_OUTPUT"


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and INJECTED not in c.get("metadata", {}).get("tags", [])]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def run_parameters(nb: dict) -> dict:
    """The parameters papermill ran a notebook with ({} for a notebook it did not run)."""
    return dict((nb.get("metadata", {}).get("papermill") or {}).get("parameters") or {})


def outputs_mode(nb: dict) -> str:
    """Which run a committed notebook's outputs belong to: "paper" when published from a paper
    run, else "ci" (executed in place in CI mode, or never executed)."""
    return (nb.get("metadata", {}).get("editnb") or {}).get("outputs", "ci")


def compared_text(cell: dict, sanitize: list[tuple[str, str]]) -> str:
    """What nbval compares of a cell: stdout and plain-text results, after the sanitize rules."""
    text = "".join("".join(o.get("text", [])) if o.get("output_type") == "stream" and o.get("name") == "stdout"
                   else "".join((o.get("data") or {}).get("text/plain", [])) for o in cell.get("outputs", []))
    for pattern, replace in sanitize:
        text = re.sub(pattern, replace, text)
    return text


def sanitize_rules(path: Path) -> list[tuple[str, str]]:
    """The regex rules of nbval's ``--nbval-sanitize-with`` file (``notebooks/sanitize.cfg``)."""
    if not path.is_file():
        return []
    parser = configparser.ConfigParser()
    parser.read(path, encoding="utf-8")
    return [(parser[s]["regex"], parser[s]["replace"]) for s in parser.sections()]


def publish(executed: Path, committed: Path) -> None:
    """Copy the outputs of ``executed`` (a paper-mode papermill run) into ``committed``."""
    executed, committed = Path(executed), Path(committed)
    run = json.loads(executed.read_text(encoding="utf-8"))
    target = json.loads(committed.read_text(encoding="utf-8"))
    params = run_parameters(run)
    if params.get("mode") != "paper" or params.get("model_name"):
        raise ValueError(f"{executed}: not a paper-mode run of the default model (parameters {params}); "
                         "only `make figures` on the default model is published")
    ran, mine = _code_cells(run), _code_cells(target)
    for i, (a, b) in enumerate(zip(ran, mine)):
        if _source(a) != _source(b):
            first = _source(b).splitlines()[:1]
            raise ValueError(f"{committed}: code cell {i} ({first}) differs from the one run in {executed}; "
                             "run `make figures` again after changing the code")
    if len(ran) != len(mine):
        raise ValueError(f"{committed}: {len(mine)} code cells, but the run in {executed} has {len(ran)}")
    if outputs_mode(target) == "ci":  # nbval compares these cells with what CI mode prints: they must agree
        rules = sanitize_rules(committed.parent / "sanitize.cfg")
        for i, (a, b) in enumerate(zip(ran, mine)):
            if _source(b).startswith(CHECKED) and b.get("outputs") and compared_text(a, rules) != compared_text(b, rules):
                raise ValueError(f"{committed}: code cell {i} is checked by nbval but prints otherwise in paper mode; "
                                 "let it print only what both modes print, and assert the rest")
    for a, b in zip(ran, mine):
        b["outputs"], b["execution_count"] = a.get("outputs", []), a.get("execution_count")
        b["metadata"] = {k: v for k, v in b.get("metadata", {}).items() if k not in ("papermill", "execution")}
    target.setdefault("metadata", {})["editnb"] = {"outputs": "paper"}
    write_text(committed, json.dumps(target, indent=1, ensure_ascii=False) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", metavar="NOTEBOOK", help="print which run NOTEBOOK's outputs belong to and exit")
    parser.add_argument("executed", nargs="?", help="the folder of the executed notebooks (make figures: build/notebooks)")
    parser.add_argument("notebooks", nargs="*", help="committed notebooks to update")
    args = parser.parse_args(argv)
    if args.mode:
        print(outputs_mode(json.loads(Path(args.mode).read_text(encoding="utf-8"))))
        return
    for path in map(Path, args.notebooks):
        publish(Path(args.executed) / path.name, path)
        print(f"{path}: outputs of the paper run in {args.executed}")


if __name__ == "__main__":
    main()
