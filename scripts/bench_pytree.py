#!/usr/bin/env python3
"""Lay out a large, real Python Lambda tree for benchmarks, of a chosen size.

The tree holds a real site-packages (its packages at the root, as a Lambda zip has them)
and a copy of the running Python's standard library under stdlib/, without __pycache__,
.pyc files, the standard library's own site-packages, links or special files. Files are
taken in sorted order until the next one would pass the target size (trimming); when both
together are smaller than the target, more copies of the standard library go under pad1/,
pad2/, ... (padding). Prints the real size in bytes and the file count.

Usage: bench_pytree.py DIR SITE_PACKAGES [--mb N]   (N: target size in MB, default 190)
"""
import os
import shutil
import stat
import sys
import sysconfig


def files_under(root):
    """Regular files under root, as paths relative to it, in sorted order."""
    out = []
    for d, dirs, names in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in ("__pycache__", "site-packages"))
        for n in sorted(names):
            p = os.path.join(d, n)
            if n.endswith(".pyc"):
                continue
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and os.access(p, os.R_OK):
                out.append((os.path.relpath(p, root), st.st_size))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    dest, site = sys.argv[1], sys.argv[2]
    target = int(float(sys.argv[sys.argv.index("--mb") + 1]) * 1e6) if "--mb" in sys.argv else 190_000_000
    stdlib = sysconfig.get_paths()["stdlib"]
    if not os.path.isdir(site):
        sys.exit("bench_pytree: site-packages %r is not a directory" % site)
    site_files, std_files = files_under(site), files_under(stdlib)
    if not std_files:
        sys.exit("bench_pytree: no standard library files found under %r" % stdlib)
    sources = [(site, "", site_files), (stdlib, "stdlib", std_files)]
    total = count = 0
    n = 0
    while True:
        for src, prefix, files in sources:
            for rel, size in files:
                if total + size > target:
                    print(total, count)
                    return
                out = os.path.join(dest, prefix, rel)
                os.makedirs(os.path.dirname(out), exist_ok=True)
                shutil.copy(os.path.join(src, rel), out)
                os.chmod(out, 0o644)
                total += size
                count += 1
        n += 1
        sources = [(stdlib, "pad%d" % n, std_files)]


if __name__ == "__main__":
    main()
