//! The shape of the code, checked from its source: in `functions/src` layers only point down
//! (domain → store → delivery → service → the surfaces http/ and ws/ → the runner in lib.rs)
//! and the two surfaces never use each other; in `functions/src` and `infra/local/src` no module
//! imports another that imports it back, directly or around a cycle; the model is typed (no
//! `Map<String, Value>` in domain/, service/, delivery/); and no file of `functions/src` or
//! `infra` runs over 400 lines before its tests. Each check is also run on a small tree made to
//! break it, so a check that can no longer fail fails too. Run alone with
//! `cargo test -p im-functions --test layers`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer; a module may use its own layer and those below.
fn rank(module: &str) -> u32 {
    match module.split("::").nth(1) {
        Some("domain") => 0,
        Some("store") => 1,
        Some("delivery") => 2,
        Some("service") => 3,
        Some("http") | Some("ws") => 4,
        _ => 5, // the crate root: the runner that names every function
    }
}

fn surface(module: &str) -> Option<&str> {
    module.split("::").nth(1).filter(|top| *top == "http" || *top == "ws")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "bin") {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/store/users.rs` → `crate::store::users`; `src/store/mod.rs` → `crate::store`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src").with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    std::iter::once("crate".to_string()).chain(parts).collect::<Vec<_>>().join("::")
}

/// The code of a file without comments and its unit tests, so docs that name a path and a test
/// module's `use super::*` do not count as imports.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    let code: Vec<&str> = text.lines().map(|line| line.split("//").next().unwrap_or_default()).collect();
    code.join("\n")
}

/// Every module path a file names: `crate::a::b`, `super::c`, with `{x, y}` groups expanded.
fn named_paths(module: &str, code: &str) -> Vec<String> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = vec![];
    for (start, root) in code
        .match_indices("crate::")
        .map(|(i, _)| (i, "crate"))
        .chain(code.match_indices("super::").filter(|(i, _)| !code[..*i].ends_with("::")).map(|(i, _)| (i, "super")))
    {
        if code[..start].chars().last().is_some_and(ident) {
            continue;
        }
        let base = match root {
            "crate" => "crate".to_string(),
            _ => module.rsplit_once("::").map(|(parent, _)| parent.to_string()).unwrap_or_default(),
        };
        let rest = &code[start + root.len() + 2..];
        let mut path = base;
        let mut chars = rest;
        loop {
            let name: String = chars.chars().take_while(|c| ident(*c)).collect();
            if !name.is_empty() {
                path = format!("{path}::{name}");
                chars = &chars[name.len()..];
            }
            if let Some(after) = chars.strip_prefix("::") {
                if let Some(group) = after.strip_prefix('{') {
                    let end = group.find('}').unwrap_or(group.len());
                    for item in group[..end].split(',') {
                        let item: String = item.trim().chars().take_while(|c| ident(*c)).collect();
                        match item.as_str() {
                            "" => {}
                            "self" => found.push(path.clone()),
                            item => found.push(format!("{path}::{item}")),
                        }
                    }
                    break;
                }
                chars = after;
                continue;
            }
            found.push(path);
            break;
        }
    }
    found
}

fn functions_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

/// The modules of a crate's `src` and, for each, the modules it uses.
fn graph_of(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = vec![];
    rust_files(src, &mut files);
    let modules: BTreeMap<String, PathBuf> = files.iter().map(|f| (module_of(src, f), f.clone())).collect();
    let resolve = |path: &str| -> Option<String> {
        let mut candidate = path.to_string();
        loop {
            if modules.contains_key(&candidate) {
                return Some(candidate);
            }
            candidate = candidate.rsplit_once("::")?.0.to_string();
        }
    };
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let code = code_of(&std::fs::read_to_string(file).expect("readable"));
        let uses: BTreeSet<String> =
            named_paths(module, &code).iter().filter_map(|p| resolve(p)).filter(|m| m != module).collect();
        graph.insert(module.clone(), uses);
    }
    graph
}

#[test]
fn layers_only_point_down_and_surfaces_stay_apart() {
    let mut wrong = vec![];
    for (module, uses) in graph_of(&functions_src()) {
        for used in uses {
            let upward = rank(&used) > rank(&module);
            let across = surface(&module).is_some() && surface(&used).is_some_and(|s| Some(s) != surface(&module));
            if upward || across {
                wrong.push(format!("{module} uses {used}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports pointing up or across surfaces:\n{}", wrong.join("\n"));
}

/// The first import cycle among a crate's modules, if any, in full (`a -> b -> a`).
fn cycle_in(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // Depth-first search for a back edge.
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|m| m == module) {
            return Some(stack[at..].iter().cloned().chain([module.to_string()]).collect());
        }
        if done.contains(module) {
            return None;
        }
        stack.push(module.to_string());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|module| visit(module, graph, &mut vec![], &mut done))
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for (src, at_least) in [(functions_src(), 30), (repository().join("infra/local/src"), 15)] {
        let graph = graph_of(&src);
        assert!(graph.len() > at_least, "the check read {} ({} modules found)", src.display(), graph.len());
        if let Some(cycle) = cycle_in(&graph) {
            panic!("import cycle in {}: {}", src.display(), cycle.join(" -> "));
        }
    }
}

/// Where a file of a typed layer holds an untyped body: `Map<String, Value>` in its code.
fn untyped_in(dir: &Path) -> Vec<String> {
    let mut files = vec![];
    rust_files(dir, &mut files);
    let untyped = ["Map<String, Value>", "Map<String, serde_json::Value>", "serde_json::Map"];
    files
        .iter()
        .flat_map(|file| {
            let code = code_of(&std::fs::read_to_string(file).expect("readable"));
            let lines: Vec<String> = code
                .lines()
                .filter(|line| {
                    untyped.iter().any(|u| line.replace(char::is_whitespace, "").contains(&u.replace(' ', "")))
                })
                .map(|line| format!("{}: {}", file.display(), line.trim()))
                .collect();
            lines
        })
        .collect()
}

#[test]
fn the_model_is_typed_in_the_domain_the_use_cases_and_the_delivery() {
    let wrong: Vec<String> =
        ["domain", "service", "delivery"].iter().flat_map(|layer| untyped_in(&functions_src().join(layer))).collect();
    assert!(wrong.is_empty(), "untyped bodies (Map<String, Value>) where the model is typed:\n{}", wrong.join("\n"));
}

/// Most lines a file has before its unit tests.
const MAX_LINES: usize = 400;

/// Files over [`MAX_LINES`] before their tests (`#[cfg(test)]`), binaries included.
fn crowded_in(dir: &Path) -> Vec<String> {
    fn every_rust_file(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                every_rust_file(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = vec![];
    every_rust_file(dir, &mut files);
    files
        .iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file).expect("readable");
            let lines = text.lines().take_while(|line| !line.trim_start().starts_with("#[cfg(test)]")).count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines before its tests", file.display()))
        })
        .collect()
}

#[test]
fn no_file_is_over_400_lines_before_its_tests() {
    let root = repository();
    let crowded: Vec<String> =
        [root.join("functions/src"), root.join("infra")].iter().flat_map(|d| crowded_in(d)).collect();
    assert!(crowded.is_empty(), "rooms with more than one job? split them:\n{}", crowded.join("\n"));
}

/// A throwaway tree of files, for the checks' own tests.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str, files: &[(&str, String)]) -> Tree {
        let root = std::env::temp_dir().join(format!("layers-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().expect("a folder")).expect("writable");
            std::fs::write(file, text).expect("writable");
        }
        Tree(root)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn each_check_fails_on_a_tree_made_to_break_it() {
    // An injected cycle, as infra/local once had (gateway <-> websocket).
    let cyclic = Tree::new(
        "cycle",
        &[
            ("lib.rs", "pub mod gateway;\npub mod websocket;\n".into()),
            ("gateway.rs", "use crate::websocket::Connections;\n".into()),
            (
                "websocket.rs",
                "use crate::gateway::{Gateway, api_gateway_time};\n// crate::nothing in a comment\n".into(),
            ),
        ],
    );
    let cycle = cycle_in(&graph_of(&cyclic.0)).expect("the cycle is found");
    assert_eq!(cycle.first(), cycle.last(), "{cycle:?}");
    assert!(cycle.contains(&"crate::gateway".to_string()) && cycle.contains(&"crate::websocket".to_string()));
    let acyclic = Tree::new("acyclic", &[("lib.rs", "pub mod a;\n".into()), ("a.rs", "use crate::b;\n".into())]);
    assert_eq!(cycle_in(&graph_of(&acyclic.0)), None);
    // An untyped body in the domain; the same in a test module is fine.
    let untyped = Tree::new(
        "untyped",
        &[
            ("entry.rs", "pub struct Entry {\n    pub body: serde_json::Map<String, Value>,\n}\n".into()),
            ("notice.rs", "pub struct Notice;\n#[cfg(test)]\nmod tests { type M = Map<String, Value>; }\n".into()),
        ],
    );
    let found = untyped_in(&untyped.0);
    assert!(found.len() == 1 && found[0].contains("entry.rs"), "{found:?}");
    // A 401-line file; 400 lines and then tests are fine.
    let line = "// a line\n";
    let crowded = Tree::new(
        "crowded",
        &[
            ("big.rs", line.repeat(MAX_LINES + 1)),
            ("ok.rs", line.repeat(MAX_LINES) + "#[cfg(test)]\n" + &line.repeat(50)),
        ],
    );
    let found = crowded_in(&crowded.0);
    assert!(found.len() == 1 && found[0].contains("big.rs: 401 lines"), "{found:?}");
}

#[test]
fn the_reader_finds_grouped_and_relative_imports() {
    let code = "use crate::store::{self, connections};\nuse super::answer::Answer;\nlet x = crate::domain::now_secs();";
    let found = named_paths("crate::ws::dispatch", code);
    for expected in
        ["crate::store", "crate::store::connections", "crate::ws::answer::Answer", "crate::domain::now_secs"]
    {
        assert!(found.contains(&expected.to_string()), "{expected} in {found:?}");
    }
}

#[test]
fn seed_codes_are_written_once_in_the_refusal_table() {
    let src = functions_src();
    let mut files = vec![];
    rust_files(&src, &mut files);
    let coded = |line: &str| {
        line.match_indices('"').any(|(i, _)| {
            let rest = &line[i + 1..];
            let code: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
            code.len() >= 4 && code.contains('-') && rest[code.len()..].starts_with('"')
        })
    };
    let outside: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("domain/refusal.rs"))
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).expect("readable");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
            code.lines().filter(|l| coded(l)).map(|l| format!("{}: {l}", f.display())).collect::<Vec<_>>()
        })
        .collect();
    assert!(outside.is_empty(), "seed codes outside domain/refusal.rs:\n{}", outside.join("\n"));
}
