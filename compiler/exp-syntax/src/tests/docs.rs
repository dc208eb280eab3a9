//! grammar/README.md and grammar/exp.pest agree with the parser: same keywords, and every
//! example of the README parses.

use crate::grammar::{is_keyword, KEYWORDS};
use crate::parse;

const README: &str = include_str!("../../../../grammar/README.md");
const GRAMMAR: &str = include_str!("../../../../grammar/exp.pest");

#[test]
fn keywords_agree_with_the_readme_and_the_grammar() {
    let section = README.split("## Keywords").nth(1).expect("README has a keywords section");
    let listed: Vec<&str> = section.split('`').nth(1).expect("keywords in backticks").split_whitespace().collect();
    let mut want = KEYWORDS.to_vec();
    let mut got = listed.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "README keywords differ from grammar::KEYWORDS");
    let rule = GRAMMAR.split("keyword = @{").nth(1).and_then(|r| r.split('}').next()).expect("keyword rule");
    for kw in KEYWORDS {
        assert!(rule.contains(&format!("\"{kw}\"")), "`{kw}` is missing from the `keyword` rule");
        assert!(parse(&format!("fn {kw}() = 1")).errors.len() == 1, "`{kw}` is accepted as a name");
    }
    assert!(!is_keyword("steps") && !is_keyword("step"), "units are not keywords");
}

#[test]
fn every_readme_example_parses() {
    let blocks: Vec<&str> = README.split("```").skip(1).step_by(2).collect();
    assert!(!blocks.is_empty(), "README has code blocks");
    for block in blocks {
        let file = parse(block);
        assert!(file.errors.is_empty(), "README example does not parse: {:?}\n{block}", file.errors);
    }
}
