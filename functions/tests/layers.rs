//! The shape of `functions/src`, checked from its source: layers only point down
//! (domain → store → delivery → service → the surfaces http/ and ws/ → the runner in lib.rs),
//! the two surfaces never use each other, and no module imports another that imports it back,
//! directly or around a cycle. Run alone with `cargo test -p im-functions --test layers`.

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

/// The modules of `functions/src` and, for each, the modules it uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let modules: BTreeMap<String, PathBuf> = files.iter().map(|f| (module_of(&src, f), f.clone())).collect();
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
    for (module, uses) in graph() {
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

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = graph();
    // Depth-first search for a back edge; the first cycle found is reported in full.
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
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut vec![], &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
    assert!(graph.len() > 30, "the check read the modules ({} found)", graph.len());
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
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
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
