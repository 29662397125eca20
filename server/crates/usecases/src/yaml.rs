//! YAML that admins send (OpenAPI documents, permission test suites),
//! read with the parser's time bounded.

use serde::de::DeserializeOwned;

/// Most `[` and `{` a YAML text may open that are not closed at once.
/// The parser's time grows with the number of tokens times the depth of
/// `[` and `{` they sit at (it refuses depths past 128, but only after it
/// has read them: a megabyte of brackets held a core for minutes). No
/// text can nest deeper than the brackets it opens, so counting them,
/// quoted or not, bounds the depth without reading YAML's quoting rules a
/// second time: at this bound a megabyte at the deepest level is read in
/// about a second. `[]` and `{}` (empty, the common case in documents
/// written in block style) open no depth and are not counted.
pub const MAX_FLOW_OPENINGS: usize = 1_000;

/// `text` read as YAML into a `T`; the parser's message on failure.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    if flow_openings(text) > MAX_FLOW_OPENINGS {
        return Err(format!(
            "it opens more than {MAX_FLOW_OPENINGS} lists or maps with `[` or `{{`: send it as JSON, or with block lists and maps"
        ));
    }
    serde_norway::from_str(text).map_err(|error| error.to_string())
}

/// How many `[` and `{` the text holds that are not followed, after
/// spaces, by their closing bracket.
fn flow_openings(text: &str) -> usize {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|(at, byte)| {
            let close = match byte {
                b'[' => b']',
                b'{' => b'}',
                _ => return false,
            };
            let next = bytes[at + 1..].iter().find(|next| **next != b' ');
            next != Some(&close)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_brackets_are_refused_before_the_parser_reads_them() {
        let started = std::time::Instant::now();
        let deep = format!("x: {}{}", "[".repeat(200_000), "]".repeat(200_000));
        let refused = from_str::<serde_json::Value>(&deep);
        assert!(refused.is_err_and(|message| message.contains("more than 1000")));
        // the count alone: nothing near the parser's minutes
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // brackets in quotes count too: the count never reads quoting
        let quoted = format!("x: '{}'", "[".repeat(1_001));
        assert!(from_str::<serde_json::Value>(&quoted).is_err());
        // under the bound, the parser's own depth limit answers
        let nested = format!("x: {}{}", "[".repeat(500), "]".repeat(500));
        assert!(from_str::<serde_json::Value>(&nested).is_err());
        // empty ones open no depth, however many
        let empty: String = (0..3_000)
            .map(|n| format!("k{n}: [ ]\nm{n}: {{}}\n"))
            .collect();
        assert!(from_str::<serde_json::Value>(&empty).is_ok());
        let flat = "x: [1, 2]\ny: {a: [3], b: []}\n";
        assert_eq!(
            from_str::<serde_json::Value>(flat).ok(),
            Some(serde_json::json!({"x": [1, 2], "y": {"a": [3], "b": []}}))
        );
        assert_eq!(flow_openings("a: [b, {c: []}, {}]"), 2);
    }
}
