//! CSV for the exports operators open in a spreadsheet.

/// One field, RFC 4180 quoted when it must be; a leading formula character is neutralised, so
/// that a value written by someone else (a name, a User-Agent) cannot run in the spreadsheet.
pub fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_and_neutralises() {
        assert_eq!(super::field("plain"), "plain");
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::field("=SUM(A1)"), "'=SUM(A1)");
    }
}
