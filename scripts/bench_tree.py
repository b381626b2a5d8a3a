#!/usr/bin/env python3
"""Generate a deterministic, realistic Lambda source tree for benchmarks.

Shape (about 60 MB): ~4000 small JS/TS/Python/JSON/Markdown files laid out like
node_modules and site-packages, a few minified bundles, a few MB of compressible
data (JSON logs, source maps) and ~20 MB of incompressible binaries (.so/.node).
Same seed -> same bytes. Usage: bench_tree.py DIR [--scale F]
"""
import os
import random
import sys

WORDS = (
    "function return const let var if else for while await async import export "
    "default from require module exports this new class extends super null "
    "undefined true false typeof instanceof throw try catch finally switch case "
    "break continue object array string number value key index length result "
    "error options config request response handler event context callback data "
    "buffer stream promise resolve reject map filter reduce push slice join "
    "self def lambda yield None True False raise except with as pass assert "
    "elif is not and or in print len range dict list tuple set str int float"
).split()
PUNCT = ["(", ")", "{", "}", ";", ",", ".", " = ", " => ", "\n", "\n  ", "\n    ", ": ", "[", "]", " + ", " === "]


def text(rng, size):
    out = []
    n = 0
    while n < size:
        if rng.random() < 0.3:
            t = rng.choice(PUNCT)
        else:
            t = rng.choice(WORDS) + (rng.choice(["", "", "_" + str(rng.randrange(100))]))
            t += " "
        out.append(t)
        n += len(t)
    return "".join(out)[:size].encode()


def minified(rng, size):
    out = []
    n = 0
    while n < size:
        t = "%s%s(%s,%d);" % (rng.choice("abcdefghijklmnopqrstuvwxyz"), rng.choice(WORDS)[:3],
                             rng.choice(WORDS), rng.randrange(100000))
        out.append(t)
        n += len(t)
    return "".join(out)[:size].encode()


def json_log(rng, size):
    out = []
    n = 0
    while n < size:
        t = '{"ts":%d,"level":"%s","msg":"%s %s","id":"%08x"}\n' % (
            1700000000 + rng.randrange(10**6), rng.choice(["info", "warn", "debug"]),
            rng.choice(WORDS), rng.choice(WORDS), rng.getrandbits(32))
        out.append(t)
        n += len(t)
    return "".join(out)[:size].encode()


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def main():
    root = sys.argv[1]
    scale = float(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1.0
    rng = random.Random(20240601)
    total = 0
    # node_modules-like: 220 packages x ~13 files; site-packages-like: 85 x ~13.
    for top, npk, exts in (("node_modules", int(220 * scale), (".js", ".d.ts", ".js", ".mjs")),
                           ("python/site-packages", int(85 * scale), (".py", ".pyi", ".py"))):
        for p in range(npk):
            name = "%s-%s%d" % (rng.choice(WORDS), rng.choice(WORDS), p)
            base = os.path.join(root, top, name)
            write(os.path.join(base, "package.json"), json_log(rng, rng.randrange(300, 2000)))
            write(os.path.join(base, "README.md"), text(rng, rng.randrange(1000, 8000)))
            write(os.path.join(base, "LICENSE"), text(rng, 1100))
            for d in range(rng.randrange(1, 4)):
                sub = os.path.join(base, rng.choice(["lib", "dist", "src", "cjs", "esm"]) + str(d))
                for f in range(rng.randrange(3, 8)):
                    size = int(rng.lognormvariate(8.3, 1.0))
                    size = min(size, 120_000)
                    write(os.path.join(sub, "%s%d%s" % (rng.choice(WORDS), f, rng.choice(exts))), text(rng, size))
                    total += size
    for i in range(5):
        write(os.path.join(root, "node_modules", "bundle", "dist", "bundle%d.min.js" % i), minified(rng, 1_000_000))
    for i in range(3):
        write(os.path.join(root, "data", "events%d.jsonl" % i), json_log(rng, 4_000_000))
    for i, n in enumerate(["sharp.node", "libvips.so.42", "_cffi_backend.so", "libcrypto.so.3"]):
        write(os.path.join(root, "node_modules", "native", "build", n), rng.randbytes(5_000_000), 0o755)
    write(os.path.join(root, "bootstrap"), b"#!/bin/sh\nexec node index.js\n", 0o755)
    write(os.path.join(root, "index.js"), text(rng, 4000))


if __name__ == "__main__":
    main()
