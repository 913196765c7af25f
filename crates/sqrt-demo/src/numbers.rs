//! The numbers the demo works on: the seed's five by default, or the user's
//! own from the command line or a file (one per line, `#` comments).

use sqrt_memo::CanonicalDecimal;

/// The five numbers of the original pymemcache/OpenCensus demo.
pub const SEED_NUMBERS: [&str; 5] = [
    "9999999183838328567567689828757567669797060958585737272727311111199911188888889953113",
    "9082782799999992727727272727272727272727272727838383285677272727399917272728373799422229",
    "987773333733799999999475786161616373683838328567727272739991727272837378888888881322229",
    "99999999999999999999998899919191919191919192828727737368383832856772727273999172727283737671626262269222848",
    "991818178171928287277373683838328567727272739991727272837377827272727272727272727711119",
];

/// Parses every number, naming the first bad one (by position, not value).
pub fn parse_all<'a>(
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<CanonicalDecimal>, String> {
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            CanonicalDecimal::parse(text).map_err(|e| format!("number #{}: {e}", i + 1))
        })
        .collect()
}

/// The lines of a numbers file that hold numbers.
pub fn lines_of(file_text: &str) -> Vec<&str> {
    file_text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_numbers_parse() {
        assert_eq!(parse_all(SEED_NUMBERS).map(|v| v.len()), Ok(5));
    }

    #[test]
    fn files_skip_comments_and_blank_lines() {
        let text = "# squares\n16\n\n  1_000_000  # a million\n";
        assert_eq!(lines_of(text), vec!["16", "1_000_000"]);
    }

    #[test]
    fn a_bad_number_is_named_by_position() {
        let err = parse_all(["4", "-9"]).expect_err("negative");
        assert!(err.starts_with("number #2"), "{err}");
    }
}
