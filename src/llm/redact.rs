//! Keeping the API key out of every message: what a server sent back is searched for the key
//! as written and as it reads once decoded — JSON `\u` escapes, `\/` — since an error body
//! is decoded before it is shown (a 401 body that spelt the key in `\u` escapes would print
//! it in clear).

/// The text shown in place of the key.
pub const REDACTED: &str = "[redacted]";

/// `text` without `key`: replaced where it is written plainly or in a JSON document's
/// decoded strings; a text that still spells it after decoding escapes is withheld whole.
pub fn redact(text: &str, key: &str) -> String {
    if key.is_empty() {
        return text.to_owned();
    }
    let mut clean = text.replace(key, REDACTED);
    if let Ok(mut document) = serde_json::from_str::<serde_json::Value>(&clean)
        && redact_strings(&mut document, key)
        && let Ok(rewritten) = serde_json::to_string(&document)
    {
        clean = rewritten;
    }
    if decode_escapes(&clean).contains(key) {
        return format!("[{} bytes withheld: they spell the API key]", text.len());
    }
    clean
}

/// Replaces `key` in every string of `value`; `true` when it found one.
fn redact_strings(value: &mut serde_json::Value, key: &str) -> bool {
    match value {
        serde_json::Value::String(text) if text.contains(key) => {
            *text = text.replace(key, REDACTED);
            true
        }
        serde_json::Value::Array(items) => items
            .iter_mut()
            .fold(false, |found, item| redact_strings(item, key) | found),
        serde_json::Value::Object(fields) => fields
            .values_mut()
            .fold(false, |found, field| redact_strings(field, key) | found),
        _ => false,
    }
}

/// `text` with JSON's `\uXXXX` and `\/` escapes decoded (and anything else left as it is),
/// for texts that are not whole JSON documents: a truncated body, a message quoting one.
fn decode_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at..];
        let unicode = escape
            .get(2..6)
            .filter(|_| escape.starts_with("\\u"))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32);
        if let Some(decoded) = unicode {
            out.push(decoded);
            rest = &escape[6..];
        } else if let Some(after) = escape.strip_prefix("\\/") {
            out.push('/');
            rest = after;
        } else {
            out.push('\\');
            rest = &escape[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-live-SECRET42";

    fn escaped(key: &str) -> String {
        key.chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect()
    }

    #[test]
    fn a_plain_key_is_replaced() {
        assert_eq!(
            redact(&format!("bad key {KEY}!"), KEY),
            "bad key [redacted]!"
        );
    }

    #[test]
    fn a_key_in_unicode_escapes_is_replaced_in_the_decoded_document() {
        let body = format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {}"}}}}"#,
            escaped(KEY)
        );
        let clean = redact(&body, KEY);
        assert!(!clean.contains("SECRET42"), "{clean}");
        assert!(!decode_escapes(&clean).contains(KEY), "{clean}");
        let decoded: serde_json::Value = serde_json::from_str(&clean).unwrap();
        assert_eq!(
            decoded["error"]["message"],
            "Incorrect API key provided: [redacted]"
        );
    }

    #[test]
    fn a_truncated_body_that_spells_the_key_is_withheld() {
        let body = format!(r#"{{"error":{{"message":"key {} is wro"#, escaped(KEY));
        let clean = redact(&body, KEY);
        assert!(
            clean.starts_with('[') && clean.contains("withheld"),
            "{clean}"
        );
    }

    #[test]
    fn a_text_without_the_key_is_left_alone() {
        let body = r#"{"error": {"message": "rate limited \u00e9"}}"#;
        assert_eq!(redact(body, KEY), body);
    }
}
