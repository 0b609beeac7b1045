"""Where ``make figures`` spends its time: per notebook and per cell, from the durations
papermill records in the executed notebooks (``build/notebooks/``).

    .venv/bin/python benchmarks/figures_time.py [--folder build/notebooks] [--top 12] [--budget-min 30]

Run it after ``make figures``: it times nothing itself, so the figures are those of that run
(cold or warm, as that run was).  Each cell is named by its first line that is not a comment.
"""
import argparse
import json
from pathlib import Path


def cell_label(cell) -> str:
    lines = [line.strip() for line in "".join(cell["source"]).splitlines()]
    code = [line for line in lines if line and not line.startswith(("#", "%"))]
    return (code[0] if code else (lines[0] if lines else ""))[:70]


def durations(path: Path) -> list[tuple[int, str, float]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for i, cell in enumerate(nb["cells"]):
        seconds = (cell.get("metadata", {}).get("papermill") or {}).get("duration")
        if cell["cell_type"] == "code" and seconds is not None:
            out.append((i, cell_label(cell), seconds))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="build/notebooks")
    parser.add_argument("--top", type=int, default=12, help="slowest cells listed")
    parser.add_argument("--budget-min", type=float, default=30.0)
    args = parser.parse_args()
    paths = sorted(Path(args.folder).glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise SystemExit(f"no executed notebooks in {args.folder}: run `make figures` first")
    cells = [(path.name, *c) for path in paths for c in durations(path)]
    total = sum(c[3] for c in cells)
    print(f"{'notebook':34} {'min':>6} {'share':>6}")
    for path in paths:
        seconds = sum(c[3] for c in cells if c[0] == path.name)
        print(f"{path.name:34} {seconds / 60:6.1f} {100 * seconds / total:5.1f}%")
    print(f"{'all notebooks (cells only)':34} {total / 60:6.1f}   budget {args.budget_min:.0f} min: "
          f"{'within' if total / 60 <= args.budget_min else f'{total / 60 / args.budget_min:.1f}x over'}")
    print(f"\nslowest {args.top} cells")
    print(f"{'notebook':28} {'cell':>4} {'min':>6} {'share':>6}  first line")
    for name, i, label, seconds in sorted(cells, key=lambda c: -c[3])[:args.top]:
        print(f"{name[:28]:28} {i:4d} {seconds / 60:6.1f} {100 * seconds / total:5.1f}%  {label}")


if __name__ == "__main__":
    main()
