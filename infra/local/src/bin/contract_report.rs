//! `contract_report <log>`: what the contract checks of a test run found (the log is what the
//! stacks wrote with `IM_CONTRACT_LOG`, see `im_local::contracts`): how many HTTP answers and
//! frames were held to `docs/openapi.yaml` and `docs/asyncapi.yaml`, and every violation.
//! Fails when there is a violation, or when nothing was checked at all.

use std::collections::BTreeMap;

fn main() {
    let log = std::env::args().nth(1).expect("usage: contract_report <log>");
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{log}: {e}"));
    let mut tally: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut violations: BTreeMap<&str, usize> = BTreeMap::new();
    for line in text.lines() {
        let mut fields = line.splitn(3, '\t');
        let (kind, verdict) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        *tally.entry((kind, verdict)).or_default() += 1;
        if verdict == "VIOLATION" {
            *violations.entry(fields.next().unwrap_or("")).or_default() += 1;
        }
    }
    for ((kind, verdict), count) in &tally {
        println!("contracts: {count:>6} {kind} {verdict}");
    }
    for (violation, count) in &violations {
        println!("VIOLATION ({count}x): {violation}");
    }
    let checked: usize = tally.values().sum();
    if checked == 0 || !violations.is_empty() {
        eprintln!("contracts: {} violations in {checked} checks", violations.values().sum::<usize>());
        std::process::exit(1);
    }
}
