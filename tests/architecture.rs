//! Keeps the shape of `src/`: no import cycle between two files, and none between two
//! top-level modules (`aws`, `config`, `plan`, ...), so imports keep pointing one way;
//! and every import points down the layer table ([`LAYERS`]), so an adapter never reaches
//! into the plan, nor the report into the run.
//!
//! An import is any `use crate::...` / `use super::...` tree and any `crate::...` or
//! `super::...` path in code; comments, doc links and string literals do not count. A path
//! names the file of its longest module prefix (`crate::aws::lock::LOCK_ALIAS` is
//! `src/aws/lock.rs`). Test code (`tests.rs` files, and whatever follows a top-level
//! `#[cfg(test)]`) is left out, as is `main.rs`, which is its own crate and imports the
//! library by name. A parent reaching into its own submodule (`mod walk;` then
//! `walk::walk(..)`) is how Rust nests modules and is not an import here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Files by their path relative to `src/` ('/' separators), with their text.
type Sources = BTreeMap<String, String>;
/// For each file, the files it imports, each with the first path that does it.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

#[test]
fn no_import_cycle_between_files_or_top_level_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let sources = read_sources(&src);
    assert!(
        sources.contains_key("lib.rs") && sources.len() > 10,
        "src/ was not read: {:?}",
        sources.keys().collect::<Vec<_>>()
    );
    let edges: usize = imports(&sources).values().map(BTreeMap::len).sum();
    assert!(edges > 50, "only {edges} imports were read from src/");
    let problems = cycles(&sources);
    assert!(
        problems.is_empty(),
        "imports must point one way; break each cycle by moving the shared item down \
         (into `domain` or the module that owns it):\n{}",
        problems.join("\n")
    );
}

#[test]
fn domain_imports_nothing_outside_itself() {
    // The pure types and rules every layer shares: an import from here into an adapter,
    // the plan or the run would let that layer's changes ripple into all the others.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = imports(&read_sources(&src));
    let up: Vec<String> = graph
        .iter()
        .filter(|(from, _)| from.starts_with("domain/"))
        .flat_map(|(from, edges)| {
            edges
                .iter()
                .filter(|(to, _)| !to.starts_with("domain/"))
                .map(move |(to, via)| format!("src/{from} imports src/{to}: {via}"))
        })
        .collect();
    assert!(
        graph.keys().any(|f| f.starts_with("domain/")),
        "no src/domain/ files were read"
    );
    assert!(
        up.is_empty(),
        "src/domain/ must not import the layers above it; move what it needs down:\n{}",
        up.join("\n")
    );
}

/// One layer of `src/`: its files and folders (`x.rs`, or `x/` for all of a folder; the
/// longest match places a file), and the layers below it its files may import. A file
/// may always import its own layer; the cycle test keeps those imports one way.
struct Layer {
    name: &'static str,
    members: &'static [&'static str],
    uses: &'static [&'static str],
}

/// The layers of `src/`, lowest first: DESIGN.md "Layers", as the code is laid out today.
/// A layer may use only layers listed before it.
const LAYERS: &[Layer] = &[
    // Pure types and rules, and the small helpers every layer shares.
    Layer {
        name: "base",
        members: &[
            "domain/",
            "types.rs",
            "state.rs",
            "markdown.rs",
            "backoff.rs",
            "cancel.rs",
            "permissions.rs",
        ],
        uses: &[],
    },
    // SDK and HTTP types <-> domain types, nothing else.
    Layer {
        name: "adapters",
        members: &["aws/", "registry/", "github/api.rs", "github/fake.rs"],
        uses: &["base"],
    },
    // No network: the reproducible zip, and an image's layers and config assembled.
    Layer {
        name: "build",
        members: &["package/", "image/build.rs", "image/layer.rs"],
        uses: &["base"],
    },
    // Validated inputs, the GitHub context and the runner protocol, and the rules that
    // turn them into targets, tags and the run order.
    Layer {
        name: "inputs",
        members: &[
            "config/",
            "context.rs",
            "gha.rs",
            "targets.rs",
            "tags.rs",
            "order.rs",
        ],
        uses: &["base"],
    },
    Layer {
        name: "plan",
        members: &["plan/"],
        uses: &["inputs", "base"],
    },
    // Carries the plan out through the adapters: races, waits, smoke test, shifts,
    // previews, history commands, layers and images.
    Layer {
        name: "execute",
        members: &[
            "deploy.rs",
            "race.rs",
            "shift.rs",
            "shift/",
            "smoke.rs",
            "release.rs",
            "preview.rs",
            "function_url.rs",
            "history/",
            "layers.rs",
            "image/",
        ],
        uses: &["plan", "inputs", "build", "adapters", "base"],
    },
    // Renders the plan and the outcome: outputs, summary, comment text.
    Layer {
        name: "report",
        members: &["report.rs", "report/"],
        uses: &["plan", "inputs", "base"],
    },
    // Tells GitHub about a run: the sticky comment and preview deployment rules, through
    // the GitHub adapter.
    Layer {
        name: "publish",
        members: &["github/"],
        uses: &["report", "plan", "inputs", "adapters", "base"],
    },
    // The deploy, start to end: the only place that orders its effects; and the error
    // every step of it can end with.
    Layer {
        name: "sequencing",
        members: &["run.rs", "run/", "error.rs"],
        uses: &[
            "publish", "report", "execute", "plan", "inputs", "build", "adapters", "base",
        ],
    },
    // The commands and where their results go: the only layer that may use every other.
    Layer {
        name: "entry",
        members: &[
            "lib.rs",
            "app.rs",
            "fleet.rs",
            "cli.rs",
            "output.rs",
            "bootstrap.rs",
            "init.rs",
        ],
        uses: &[
            "sequencing",
            "publish",
            "report",
            "execute",
            "plan",
            "inputs",
            "build",
            "adapters",
            "base",
        ],
    },
];

/// Imports that break [`LAYERS`], as `(from, to, what it takes)`; none today. An entry
/// no longer needed fails the test, so the list only shrinks.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

#[test]
fn every_import_points_down_the_layer_table() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = imports(&read_sources(&src));
    assert!(graph.len() > 50, "only {} files were read", graph.len());
    let problems = layer_problems(&graph, LAYERS, EXCEPTIONS);
    assert!(
        problems.is_empty(),
        "imports must point down the layers of tests/architecture.rs (LAYERS); move what \
         the lower file needs down, or the file to the layer it belongs to:\n{}",
        problems.join("\n")
    );
}

#[test]
fn an_import_up_a_layer_is_found_and_names_both_files() {
    const TABLE: &[Layer] = &[
        Layer {
            name: "base",
            members: &["domain/"],
            uses: &[],
        },
        Layer {
            name: "adapters",
            members: &["aws/"],
            uses: &["base"],
        },
        Layer {
            name: "plan",
            members: &["plan.rs"],
            uses: &["base"],
        },
        Layer {
            name: "report",
            members: &["report.rs"],
            uses: &["plan", "base"],
        },
        Layer {
            name: "app",
            members: &["lib.rs", "run.rs"],
            uses: &["report", "plan", "adapters", "base"],
        },
    ];
    let sources = crate_of(&[
        (
            "lib.rs",
            "pub mod aws;\npub mod domain;\npub mod plan;\npub mod report;\npub mod run;\npub mod extra;\n",
        ),
        ("domain/mod.rs", "pub struct Name;\n"),
        ("aws/mod.rs", "pub mod lambda;\n"),
        (
            "aws/lambda.rs",
            "use crate::domain::Name;\nfn f(p: &crate::plan::Plan) {}\n",
        ),
        ("plan.rs", "use crate::domain::Name;\npub struct Plan;\n"),
        (
            "report.rs",
            "use crate::plan::Plan;\nuse crate::run::{deploy, Planned};\nuse crate::aws::lambda::Lambda;\n",
        ),
        (
            "run.rs",
            "use crate::report::Report;\nuse crate::aws::lambda::Lambda;\n",
        ),
        ("extra.rs", "use crate::domain::Name;\n"),
    ]);
    let excepted = [
        ("report.rs", "aws/lambda.rs", "Lambda: kept for now"),
        ("plan.rs", "run.rs", "no longer imported"),
    ];
    let found = layer_problems(&imports(&sources), TABLE, &excepted);
    let has = |parts: &[&str]| found.iter().any(|p| parts.iter().all(|s| p.contains(s)));
    assert!(
        has(&[
            "src/aws/lambda.rs (adapters)",
            "src/plan.rs (plan)",
            "crate::plan::Plan"
        ]),
        "{found:#?}"
    );
    assert!(
        has(&["src/report.rs (report)", "src/run.rs (app)"]),
        "{found:#?}"
    );
    assert!(has(&["src/extra.rs", "no layer"]), "{found:#?}");
    assert!(
        has(&["src/plan.rs -> src/run.rs", "no longer needed"]),
        "{found:#?}"
    );
    assert!(
        !has(&["src/report.rs (report) imports src/aws/lambda.rs"]),
        "{found:#?}"
    );
    assert!(!has(&["src/run.rs (app) imports"]), "{found:#?}");
    assert_eq!(found.len(), 4, "{found:#?}");
}

#[test]
fn a_layer_table_that_lets_a_layer_use_one_above_it_is_refused() {
    const TABLE: &[Layer] = &[
        Layer {
            name: "base",
            members: &["domain/"],
            uses: &["plan"],
        },
        Layer {
            name: "plan",
            members: &["plan.rs"],
            uses: &["base", "nowhere"],
        },
    ];
    let found = layer_problems(&Graph::new(), TABLE, &[]);
    assert!(
        found
            .iter()
            .any(|p| p.contains("base") && p.contains("plan") && p.contains("above")),
        "{found:#?}"
    );
    assert!(found.iter().any(|p| p.contains("nowhere")), "{found:#?}");
}

#[test]
fn a_cycle_between_two_files_is_found_and_names_both() {
    let sources = crate_of(&[
        ("lib.rs", "pub mod deploy;\npub mod race;\n"),
        (
            "deploy.rs",
            "use crate::race::{publish_own, Held};\npub enum DeployError {}\n",
        ),
        (
            "race.rs",
            "use crate::deploy::DeployError;\npub fn publish_own() {}\n",
        ),
    ]);
    let found = cycles(&sources);
    assert!(
        found.iter().any(|c| c.starts_with("file cycle")
            && c.contains("src/deploy.rs")
            && c.contains("src/race.rs")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|c| c.starts_with("module cycle") && c.contains("deploy") && c.contains("race")),
        "{found:#?}"
    );
}

#[test]
fn a_cycle_through_submodules_and_super_paths_is_found() {
    // aws/lambda.rs -> plan.rs -> config/mod.rs -> aws/lock.rs -> aws/lambda.rs, with a
    // `super::` hop inside `aws` and an inline `crate::` path in code.
    let sources = crate_of(&[
        ("lib.rs", "pub mod aws;\npub mod config;\npub mod plan;\n"),
        ("aws/mod.rs", "pub mod lambda;\npub mod lock;\n"),
        ("aws/lambda.rs", "use crate::plan::ConfigUpdate;\n"),
        (
            "aws/lock.rs",
            "use super::lambda::Lambda;\npub const LOCK_ALIAS: &str = \"lock\";\n",
        ),
        (
            "config/mod.rs",
            "fn f(a: &str) -> bool { a == crate::aws::lock::LOCK_ALIAS }\n",
        ),
        ("plan.rs", "use crate::config::{self, Config};\n"),
    ]);
    let found = cycles(&sources);
    let file = found
        .iter()
        .find(|c| c.starts_with("file cycle"))
        .unwrap_or_else(|| panic!("{found:#?}"));
    for f in [
        "src/aws/lambda.rs",
        "src/plan.rs",
        "src/config/mod.rs",
        "src/aws/lock.rs",
    ] {
        assert!(file.contains(f), "{f} missing from {file}");
    }
    assert!(
        found.iter().any(|c| c.starts_with("module cycle")
            && c.contains("aws")
            && c.contains("config")
            && c.contains("plan")),
        "{found:#?}"
    );
}

#[test]
fn comments_strings_doc_links_tests_and_parents_are_not_imports() {
    let sources = crate_of(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a/mod.rs",
            "mod child;\npub fn f() { child::g() }\nuse crate::b::B;\n",
        ),
        ("a/child.rs", "use super::f;\npub fn g() {}\n"),
        (
            "b.rs",
            concat!(
                "//! See [`crate::a`].\n",
                "/* crate::a::f */\n",
                "pub struct B<'a>(&'a str);\n",
                "const Q: char = '\"';\n",
                "const S: &str = \"crate::a::f\";\n",
                "const R: &str = r#\"use crate::a;\"#;\n",
                "#[cfg(test)]\n",
                "mod tests { use crate::a::f; }\n",
            ),
        ),
        ("a/tests.rs", "use crate::b::B;\nuse crate::a::f;\n"),
    ]);
    let found = cycles(&sources);
    assert!(found.is_empty(), "{found:#?}");
    let graph = imports(&sources);
    assert_eq!(
        graph["a/child.rs"].keys().collect::<Vec<_>>(),
        ["a/mod.rs"],
        "a super:: path names the parent"
    );
    assert_eq!(graph["a/mod.rs"].keys().collect::<Vec<_>>(), ["b.rs"]);
    assert!(graph["b.rs"].is_empty(), "{:?}", graph["b.rs"]);
}

/// What breaks the layer table: layers that may use one above them, files in no layer,
/// imports up the table (naming both files and their layers), and exceptions no longer
/// needed.
fn layer_problems(
    graph: &Graph,
    layers: &[Layer],
    exceptions: &[(&str, &str, &str)],
) -> Vec<String> {
    let mut out = table_problems(layers);
    let mut used = BTreeSet::new();
    for (from, edges) in graph {
        let Some(here) = layer_of(from, layers) else {
            out.push(format!("src/{from} is in no layer: add it to LAYERS"));
            continue;
        };
        for (to, via) in edges {
            let Some(there) = layer_of(to, layers) else {
                continue;
            };
            if here.name == there.name || here.uses.contains(&there.name) {
                continue;
            }
            if let Some(e) = exceptions.iter().find(|e| e.0 == from && e.1 == to) {
                used.insert((e.0, e.1));
                continue;
            }
            out.push(format!(
                "src/{from} ({}) imports src/{to} ({}): {via}; {} may import only: {}",
                here.name,
                there.name,
                here.name,
                here.uses.join(", ")
            ));
        }
    }
    for (from, to, what) in exceptions {
        if !used.contains(&(*from, *to)) {
            out.push(format!(
                "exception src/{from} -> src/{to} ({what}) is no longer needed: remove it from EXCEPTIONS"
            ));
        }
    }
    out
}

/// A table whose layers use only layers listed before them points down by construction.
fn table_problems(layers: &[Layer]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        for used in layer.uses {
            match layers.iter().position(|l| l.name == *used) {
                Some(j) if j < i => {}
                Some(_) => out.push(format!(
                    "layer {} uses {used}, which is not below it but above: list {used} first",
                    layer.name
                )),
                None => out.push(format!(
                    "layer {} uses {used}, which is no layer",
                    layer.name
                )),
            }
        }
    }
    out
}

/// The layer of a file: the one with the longest member that names it.
fn layer_of<'t>(rel: &str, layers: &'t [Layer]) -> Option<&'t Layer> {
    let names = |m: &&&str| rel == **m || (m.ends_with('/') && rel.starts_with(**m));
    layers
        .iter()
        .filter_map(|l| {
            let longest = l.members.iter().filter(names).map(|m| m.len()).max();
            longest.map(|len| (len, l))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, l)| l)
}

fn crate_of(files: &[(&str, &str)]) -> Sources {
    files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect()
}

/// Every `.rs` file under `src/` except `main.rs` and test files.
fn read_sources(src: &Path) -> Sources {
    let mut out = Sources::new();
    let mut pending: Vec<PathBuf> = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(src)
                    .expect("under src")
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                out.insert(rel, text);
            }
        }
    }
    out
}

/// Whether a file is test code or the binary's root, both left out.
fn left_out(rel: &str) -> bool {
    rel == "main.rs"
        || rel.starts_with("bin/")
        || rel.rsplit('/').next() == Some("tests.rs")
        || rel.split('/').rev().skip(1).any(|dir| dir == "tests")
}

/// The module path of a file: `aws/lock.rs` is `["aws", "lock"]`, `aws/mod.rs` is
/// `["aws"]`, `lib.rs` is `[]`.
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The cycles, one line each: between files (naming every file of the cycle, with the
/// path that makes each step), then between top-level modules (with one import per step).
fn cycles(sources: &Sources) -> Vec<String> {
    let graph = imports(sources);
    let mut out = Vec::new();
    for comp in strongly_connected(&graph) {
        out.push(format!(
            "file cycle: {}",
            describe(&graph, &comp, |f| format!("src/{f}"))
        ));
    }
    let modules = module_graph(&graph);
    for comp in strongly_connected(&modules) {
        out.push(format!(
            "module cycle: {}",
            describe(&modules, &comp, |m| m.to_string())
        ));
    }
    out
}

/// `a -> b -> c -> a`, following the graph inside one strongly connected component, with
/// the path that makes each step.
fn describe(graph: &Graph, comp: &BTreeSet<String>, name: impl Fn(&str) -> String) -> String {
    let path = cycle_in(graph, comp);
    let mut text = String::new();
    for pair in path.windows(2) {
        let via = &graph[&pair[0]][&pair[1]];
        let _ = write!(text, "{} -> ({via}) ", name(&pair[0]));
    }
    text.push_str(&name(&path[path.len() - 1]));
    if comp.len() + 1 > path.len() {
        let all: Vec<String> = comp.iter().map(|m| name(m)).collect();
        let _ = write!(
            text,
            " (these reach each other through imports: {})",
            all.join(", ")
        );
    }
    text
}

/// A shortest cycle through the first member of a strongly connected component.
fn cycle_in(graph: &Graph, comp: &BTreeSet<String>) -> Vec<String> {
    let start = comp.iter().next().expect("non-empty component");
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.as_str()]);
    while let Some(here) = queue.pop_front() {
        if here != start && graph[here].contains_key(start) {
            let mut path = vec![start.clone()];
            let mut at = here;
            while at != start {
                path.insert(1, at.to_string());
                at = parent[at];
            }
            path.push(start.clone());
            return path;
        }
        for next in graph[here].keys().filter(|n| comp.contains(*n)) {
            if next != start && !parent.contains_key(next.as_str()) {
                parent.insert(next, here);
                queue.push_back(next);
            }
        }
    }
    unreachable!("every member of a strongly connected component reaches the others")
}

/// The files each file imports.
fn imports(sources: &Sources) -> Graph {
    let modules: BTreeMap<Vec<String>, String> = sources
        .keys()
        .filter(|rel| !left_out(rel))
        .map(|rel| (module_path(rel), rel.clone()))
        .collect();
    let mut graph = Graph::new();
    for (rel, text) in sources.iter().filter(|(rel, _)| !left_out(rel)) {
        let here = module_path(rel);
        let mut edges = BTreeMap::new();
        for path in paths(&code_only(text)) {
            let Some(segments) = absolute(&path, &here) else {
                continue;
            };
            let target = (1..=segments.len())
                .rev()
                .find_map(|n| modules.get(&segments[..n]));
            if let Some(target) = target.filter(|t| *t != rel) {
                edges.entry(target.clone()).or_insert(path);
            }
        }
        graph.insert(rel.clone(), edges);
    }
    graph
}

/// The module segments a `crate::` or `super::` path names, seen from module `here`.
fn absolute(path: &str, here: &[String]) -> Option<Vec<String>> {
    let mut segments: Vec<&str> = path.split("::").collect();
    let mut base: Vec<String> = match *segments.first()? {
        "crate" => Vec::new(),
        "super" => here.to_vec(),
        _ => return None,
    };
    if segments[0] == "crate" {
        segments.remove(0);
    } else {
        while segments.first() == Some(&"super") {
            base.pop()?;
            segments.remove(0);
        }
    }
    base.extend(
        segments
            .into_iter()
            .filter(|s| *s != "self" && !s.is_empty())
            .map(str::to_string),
    );
    Some(base)
}

/// The top-level module of each file; the crate root belongs to none.
fn module_graph(files: &Graph) -> Graph {
    let top = |rel: &str| module_path(rel).first().cloned();
    let mut out = Graph::new();
    for (from, edges) in files {
        let Some(a) = top(from) else { continue };
        out.entry(a.clone()).or_default();
        for (to, via) in edges {
            match top(to) {
                Some(b) if b != a => {
                    out.get_mut(&a)
                        .expect("inserted above")
                        .entry(b.clone())
                        .or_insert_with(|| format!("src/{from} imports src/{to}: {via}"));
                    out.entry(b).or_default();
                }
                _ => {}
            }
        }
    }
    out
}

/// The strongly connected components with more than one member (Tarjan).
fn strongly_connected(graph: &Graph) -> Vec<BTreeSet<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flat_map(|e| e.keys()) {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let lw = s.low[w.as_str()];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w.as_str()) {
                let iw = s.index[w.as_str()];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The `crate::`/`super::` paths of some code: each `use` tree expanded to its leaves,
/// and every other path as written.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let (before, after) = rest.split_at(at);
        out.extend(inline_paths(before));
        let body = &after[3..];
        let end = body.find(';').unwrap_or(body.len());
        let tree = body[..end].trim_start();
        if tree.starts_with("crate") || tree.starts_with("super") {
            expand_use(tree, "", &mut out);
        }
        rest = &body[end..];
    }
    out.extend(inline_paths(rest));
    out
}

/// The position of `word` as a whole word.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = text[from..].find(word).map(|i| i + from) {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        if !before.is_some_and(ident) && !after.is_some_and(ident) {
            return Some(i);
        }
        from = i + word.len();
    }
    None
}

/// `crate::a::b` and `super::a` paths written in expressions, types and attributes.
fn inline_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for root in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(root).map(|i| i + from) {
            from = i + root.len();
            let before = code[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let len = code[i..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(code.len() - i);
            out.push(code[i..i + len].trim_end_matches(':').to_string());
        }
    }
    out
}

/// Expands a use tree like `crate::a::{b, c::{d as e}}` to its leaves.
fn expand_use(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let join = |head: &str| match (prefix.is_empty(), head.is_empty()) {
        (true, _) => head.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}::{head}"),
    };
    let Some(open) = tree.find('{') else {
        // `path as name`: the path is what counts.
        let leaf: String = tree
            .split(" as ")
            .next()
            .unwrap_or(tree)
            .split_whitespace()
            .collect();
        out.push(join(leaf.trim_end_matches("::*")));
        return;
    };
    let head: String = tree[..open].split_whitespace().collect();
    let head = join(head.trim_end_matches("::"));
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut depth = 0;
    let mut item = String::new();
    for c in inner.chars().chain([',']) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            if !item.trim().is_empty() {
                expand_use(&item, &head, out);
            }
            item.clear();
        } else {
            item.push(c);
        }
    }
}

/// The code of a file without test code, comments, and string or char literals (their
/// text becomes empty), so that only real paths are left.
fn code_only(text: &str) -> String {
    let text = match text.find("\n#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = skip_block_comment(&chars, i);
        } else if c == '"' {
            i = skip_string(&chars, i + 1);
            out.push_str("\"\"");
        } else if (c == 'r' || c == 'b') && !prev_ident && raw_string_start(&chars, i).is_some() {
            let (hashes, body) = raw_string_start(&chars, i).expect("checked");
            i = skip_raw_string(&chars, body, hashes);
            out.push_str("\"\"");
        } else if c == '\'' {
            i = skip_char_or_lifetime(&chars, i, &mut out);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn skip_block_comment(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Skips a string body that starts at `i` (after the opening quote).
fn skip_string(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// For `r"`, `r#"`, `br#"` at `i`: the number of `#` and where the body starts.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if chars[j] == 'b' {
        j += 1;
        if chars.get(j) == Some(&'"') {
            return Some((usize::MAX, j + 1)); // b"...": an ordinary string body
        }
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|c| **c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some((hashes, j + hashes + 1))
}

fn skip_raw_string(chars: &[char], body: usize, hashes: usize) -> usize {
    if hashes == usize::MAX {
        return skip_string(chars, body);
    }
    let mut i = body;
    while i < chars.len() {
        if chars[i] == '"'
            && chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// A char literal (`'x'`, `'\n'`, `'\u{1F600}'`) is skipped; a lifetime (`'a`) is kept.
fn skip_char_or_lifetime(chars: &[char], i: usize, out: &mut String) -> usize {
    if chars.get(i + 1) == Some(&'\\') {
        // Past the escaped character, then to the closing quote (`'\u{..}'`).
        let mut j = i + 3;
        while j < chars.len() && chars[j] != '\'' {
            j += 1;
        }
        return j + 1;
    }
    if chars.get(i + 2) == Some(&'\'') {
        return i + 3;
    }
    out.push('\'');
    i + 1
}
