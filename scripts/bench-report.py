#!/usr/bin/env python3
"""Splices one run of the benchmarks (scripts/bench) into docs/PERFORMANCE.md.

Usage: bench-report.py OUT_DIR REPORT.md [PERFORMANCE.md]

OUT_DIR holds one <id>.txt per benchmark (its output) and meta.txt (date,
machine, commit). Lines `RATIO|measure|compared with|ratio|aim` and
`FIGURE|figure|value|aim` printed by the benchmarks feed the summary table;
bench_seal's JSON output (seal.json) gives its ratios to raw libsodium.
The measured blocks of PERFORMANCE.md sit between `<!-- bench:<id> -->` and
`<!-- /bench:<id> -->`; everything outside them is prose kept as written.
REPORT.md gets the summary and every block, whatever happens to the docs.
"""
import json
import pathlib
import re
import sys


def aim_met(value, aim):
    m = re.match(r"\s*(>=|<=)\s*([0-9.]+)", aim or "")
    if not m:
        return ""
    try:
        v = float(re.match(r"\s*([0-9.]+)", value).group(1))
    except (AttributeError, ValueError):
        return ""
    bound = float(m.group(2))
    ok = v >= bound if m.group(1) == ">=" else v <= bound
    return "yes" if ok else "**no**"


def seal_ratios(path):
    """crypto::seal / crypto::open against raw libsodium AEAD, per size (CPU time)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    rate = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"]).split("/")
        if len(name) >= 2 and "bytes_per_second" in b:
            rate[(name[0], name[1])] = b["bytes_per_second"]
    out = []
    for size, label in (("1024", "1 KiB"), ("65536", "64 KiB"), ("16777216", "16 MiB")):
        for ours, raw, what in (("BM_Seal", "BM_RawAeadEncrypt", "seal"), ("BM_Open", "BM_RawAeadDecrypt", "open")):
            if (ours, size) in rate and (raw, size) in rate:
                out.append((f"sealed records: {what}, {label}", "raw libsodium AEAD, bytes/s",
                            f"{rate[(ours, size)] / rate[(raw, size)]:.2f}", ""))
    return out


def render(text):
    """Benchmark output as Markdown: tables as they are, other lines in text blocks."""
    out, plain = [], []

    def flush():
        while plain and not plain[-1].strip():
            plain.pop()
        if plain:
            out.extend(["```text", *plain, "```", ""])
        plain.clear()

    for line in text.splitlines():
        if line.startswith(("RATIO|", "FIGURE|")):
            continue
        if line.startswith("|"):
            flush()
            out.append(line)
        else:
            if out and out[-1].startswith("|"):
                out.append("")
            if line.strip() or plain:
                plain.append(line)
    flush()
    return "\n".join(out).strip() + "\n"


def main():
    out_dir = pathlib.Path(sys.argv[1])
    report = pathlib.Path(sys.argv[2])
    doc = pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 else None
    meta = (out_dir / "meta.txt").read_text().strip()
    ratios, figures, blocks = [], [], {}
    for f in sorted(out_dir.glob("*.txt")):
        if f.stem == "meta":
            continue
        text = f.read_text(errors="replace")
        cmd = (out_dir / (f.stem + ".cmd")).read_text().strip() if (out_dir / (f.stem + ".cmd")).exists() else ""
        for line in text.splitlines():
            parts = line.split("|")
            if parts[0] == "RATIO" and len(parts) >= 5:
                ratios.append((parts[1], parts[2], parts[3], parts[4]))
            elif parts[0] == "FIGURE" and len(parts) >= 4:
                figures.append((parts[1], parts[2], parts[3]))
        blocks[f.stem] = (f"Measured {meta}:\n\n    {cmd}\n\n" if cmd else "") + render(text)
    ratios = seal_ratios(out_dir / "seal.json") + ratios

    summary = [f"Run of {meta}. Every ratio is hiegate against the baseline named, "
               "higher is better (for latency and memory the baseline's figure is divided by ours).", ""]
    summary += ["| measure | compared with | ratio | aim | met |", "|---|---|--:|---|---|"]
    summary += [f"| {m} | {b} | {r} | {a} | {aim_met(r, a)} |" for m, b, r, a in ratios]
    summary += ["", "| figure | value | aim | met |", "|---|--:|---|---|"]
    summary += [f"| {f} | {v} | {a} | {aim_met(v, a)} |" for f, v, a in figures]
    blocks["summary"] = "\n".join(summary) + "\n"

    report.write_text("# hiegate benchmark report\n\n" + "".join(
        f"## {k}\n\n{v}\n" for k, v in [("summary", blocks["summary"])] +
        [(k, v) for k, v in blocks.items() if k != "summary"]))
    if doc is None:
        return 0
    text = doc.read_text()
    missing = []
    for key, body in blocks.items():
        pattern = re.compile(rf"(<!-- bench:{re.escape(key)} -->\n).*?(<!-- /bench:{re.escape(key)} -->)", re.S)
        if not pattern.search(text):
            missing.append(key)
            continue
        text = pattern.sub(lambda m: m.group(1) + body + m.group(2), text)
    doc.write_text(text)
    if missing:
        print(f"bench-report: no block in {doc} for: {', '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
