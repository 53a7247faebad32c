//! `iam_unused <usage file>`: the permissions `template.yaml` grants each function that no test
//! used (the usage file is what `make test` recorded with `IAM_USAGE_FILE`), so they can be
//! removed. Informational: it lists, it does not fail.

fn main() {
    let usage = std::env::args().nth(1).expect("usage: iam_unused <usage file>");
    let used: std::collections::BTreeSet<String> =
        std::fs::read_to_string(&usage).unwrap_or_default().lines().map(str::to_string).collect();
    let template = im_local::template::Template::load(&im_local::project_root().join("template.yaml"))
        .expect("template.yaml reads");
    let mut unused = 0;
    for (function, statements) in &template.policies {
        for grant in im_local::iam::grants(statements) {
            if !used.contains(&format!("{function} {grant}")) {
                println!("{function}: {grant}");
                unused += 1;
            }
        }
    }
    println!("{unused} granted permissions no test used ({} used)", used.len());
}
