"""Self-time samples of a perf recording grouped by layer, as a share and as CPU microseconds per call.

usage: layers.py perf.data [cpu_microseconds calls_per_second seconds]
"""
import collections
import re
import subprocess
import sys

LAYERS = [
    ("Kestrel, HTTP/2, HPACK", r"Kestrel|HPack|System\.Net\.Http|Http2|IO\.Pipelines|PinnedBlockMemoryPool"),
    ("ASP.NET hosting and routing", r"AspNetCore\.(Hosting|Routing|Http)|Microsoft\.Extensions"),
    ("Grpc.AspNetCore", r"Grpc\.AspNetCore|Grpc\.Shared|Grpc\.Core"),
    ("ours: authentication, interceptors, request shape", r"GrpcImages\.ServiceDefaults"),
    ("ours: service, rules, store", r"GrpcImages\.(Catalog|Sharing|Kms|Transfer|Bench)"),
    ("Protobuf", r"Google\.Protobuf|GrpcImages\.Contracts"),
    ("StackExchange.Redis", r"StackExchange\.Redis|Pipelines\.Sockets"),
    ("sockets (managed)", r"System\.Net\.Sockets"),
    ("CoreLib (async, thread pool)", r"System\.Private\.CoreLib|System\.(Runtime|Collections|Linq|Memory|Text|Security|Diagnostics)"),
]


def layer(dso, kind, symbol):
    if kind == "k" or "kernel" in dso:
        return "kernel"
    if "libclrjit" in dso:
        return "JIT"
    if "libcoreclr" in dso or symbol.startswith(("stub", "0x")):
        return "runtime native (GC, casts, stubs)"
    if dso.startswith(("libc", "ld-linux", "[vdso")) or "libSystem.Native" in dso:
        return "libc"
    for name, pattern in LAYERS:
        if re.search(pattern, symbol):
            return name
    return "other managed"


def main():
    report = subprocess.run(["perf", "report", "-i", sys.argv[1], "--no-children", "--sort", "dso,sym", "--stdio", "-g", "none"],
                            capture_output=True, text=True, check=True).stdout
    shares = collections.Counter()
    for line in report.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S.*?)\s{2,}\[(.)\]\s+(.*)", line)
        if m:
            shares[layer(m.group(2), m.group(3), m.group(4))] += float(m.group(1))
    per_call = None
    if len(sys.argv) == 5:
        per_call = float(sys.argv[2]) / (float(sys.argv[3]) * float(sys.argv[4]))
        print(f"CPU per call: {per_call:.1f} µs")
    for name, share in shares.most_common():
        print(f"{share:6.1f}%  " + (f"{share / 100 * per_call:7.2f} µs  " if per_call else "") + name)


if __name__ == "__main__":
    main()
