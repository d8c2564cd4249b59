#!/usr/bin/env python3
"""Lists public declarations of the Swift engine without a `///` doc comment.

A declaration counts as documented when the nearest line above it that is not an attribute
(`@inlinable`, `@discardableResult`, ...) is a `///` line or the end of a `/** */` block. Enum
cases declared with `case` inside a public enum are exempt when the enum itself is documented
(their meaning is the enum's), as are members of public protocol conformances that restate a
protocol requirement (`description`, `next()`, `makeIterator()`), which DocC documents from the
protocol.

    python3 scripts/doc_coverage.py            # summary per target, exit 1 if any is missing
    python3 scripts/doc_coverage.py --list     # every undocumented declaration, file:line
"""
import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DECL = re.compile(r"^\s*(?:@[\w]+(?:\([^)]*\))?\s+)*(?:(?:open|public)(?:\(set\))?\s+)(?:(?:static|final|override|mutating|nonisolated|lazy|weak|required|convenience|class|indirect|package\(set\)|private\(set\)|internal\(set\))\s+)*(func|var|let|init|class|struct|enum|protocol|typealias|subscript|actor|extension)\b")
EXEMPT_NAMES = {"description", "next", "makeIterator", "hash", "encode", "debugDescription"}


def undocumented(path):
    lines = path.read_text().split("\n")
    out = []
    for i, line in enumerate(lines):
        m = DECL.match(line)
        if not m or m.group(1) == "extension":
            continue
        name = re.search(r"\b(?:func|var|let|class|struct|enum|protocol|typealias|actor)\s+`?(\w+)", line)
        if name and name.group(1) in EXEMPT_NAMES:
            continue
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("@"):
            j -= 1
        prev = lines[j].strip() if j >= 0 else ""
        if prev.startswith("///") or prev.endswith("*/"):
            continue
        out.append((i + 1, line.strip()))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", action="store_true")
    ap.add_argument("paths", nargs="*", default=[str(p) for p in sorted((ROOT / "Sources").glob("SparseWire*")) if p.name != "SparseWire"])
    args = ap.parse_args()
    total = missing = 0
    for root in args.paths:
        root = pathlib.Path(root).resolve()
        files = sorted(root.rglob("*.swift")) if root.is_dir() else [root]
        t_total = t_missing = 0
        for f in files:
            text = f.read_text().split("\n")
            t_total += sum(1 for l in text if DECL.match(l) and DECL.match(l).group(1) != "extension")
            u = undocumented(f)
            t_missing += len(u)
            if args.list:
                for ln, decl in u:
                    print(f"{f.relative_to(ROOT)}:{ln}: {decl}")
        total += t_total
        missing += t_missing
        if not args.list:
            print(f"{root.name:24} {t_total - t_missing:4} of {t_total:4} public declarations documented")
    print(f"total: {total - missing} of {total} documented, {missing} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
