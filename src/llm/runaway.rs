//! The rule that says a streamed answer has degenerated: its tail is one stretch of text
//! repeated over and over. Small models do this (the same assertion line, the same block of
//! statements, the same word) until the completion cap stops them; reading on only costs
//! time and tokens, so the provider stops at the rule and the answer counts as cut.

/// The longest repeated stretch looked for, in bytes: a block of a dozen code lines.
const MAX_PERIOD: usize = 512;

/// How many bytes the repetition must cover, at the least. Real tests repeat a short line
/// a few times (`assert!(q.pop().is_some());` ten times is 330 bytes); a model that runs on
/// repeats it for thousands.
const MIN_SPAN: usize = 512;

/// How many copies of the stretch the tail must hold, at the least: a block of lines
/// written four times over in a row is no test.
const MIN_COPIES: usize = 4;

/// A repetition found at the end of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repetition {
    /// The length of the repeated stretch, in bytes.
    pub period: usize,
    /// How many bytes at the end of the text the repetition covers.
    pub span: usize,
}

/// Whether `text` ends in one stretch of at most [`MAX_PERIOD`] bytes repeated to cover at
/// least [`MIN_SPAN`] bytes and [`MIN_COPIES`] copies (the last copy may be partial: the
/// answer is read as it streams in). The shortest such stretch is reported.
pub fn repeating_tail(text: &str) -> Option<Repetition> {
    let bytes = text.as_bytes();
    (1..=MAX_PERIOD).find_map(|period| {
        let span = MIN_SPAN.max(MIN_COPIES * period);
        if span > bytes.len() {
            return None;
        }
        let tail = &bytes[bytes.len() - span..];
        // From the end backwards: ordinary text differs within a byte or two.
        let periodic = (period..tail.len())
            .rev()
            .all(|i| tail[i] == tail[i - period]);
        periodic.then(|| Repetition {
            period,
            span: repeated_span(bytes, period),
        })
    })
}

/// How far back from the end `bytes` keeps the period `period`.
fn repeated_span(bytes: &[u8], period: usize) -> usize {
    let mut start = bytes.len() - period;
    while start > 0 && bytes[start - 1] == bytes[start - 1 + period] {
        start -= 1;
    }
    bytes.len() - start
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "func TestAdd(t *testing.T) {\n\tgot := Add(1, 2)\n";

    #[test]
    fn a_line_repeated_until_the_cap_is_a_runaway() {
        let text = format!("{HEAD}{}", "\tx := 1\n".repeat(80));
        let found = repeating_tail(&text).unwrap();
        assert_eq!(found.period, 8);
        // The 80 copies, and the newline before them (a copy's last byte).
        assert_eq!(found.span, 8 * 80 + 1);
    }

    #[test]
    fn a_block_of_lines_repeated_is_a_runaway_even_cut_mid_copy() {
        let block =
            "\tif got := Add(1, 2); got != 3 {\n\t\tt.Errorf(\"Add(1, 2) = %d\", got)\n\t}\n";
        let mut text = format!("{HEAD}{}", block.repeat(8));
        text.push_str(&block[..20]);
        let found = repeating_tail(&text).unwrap();
        assert_eq!(found.period, block.len());
    }

    #[test]
    fn a_word_repeated_on_one_line_is_a_runaway() {
        let text = format!("{HEAD}\t// the the {}", "the ".repeat(200));
        assert_eq!(repeating_tail(&text).unwrap().period, 4);
    }

    #[test]
    fn a_test_that_repeats_a_short_assertion_a_few_times_is_not() {
        let text = format!(
            "{HEAD}{}\tif got != 3 {{\n\t\tt.Fatal(got)\n\t}}\n}}\n",
            "\tassert!(q.pop().is_some());\n".repeat(10)
        );
        assert_eq!(repeating_tail(&text), None);
    }

    #[test]
    fn ordinary_code_and_closing_braces_are_not() {
        let mut text = String::from(HEAD);
        for i in 0..60 {
            text.push_str(&format!(
                "\t{{name: \"case {i}\", a: {i}, b: {}, want: {}}},\n",
                i + 1,
                2 * i + 1
            ));
        }
        text.push_str("\t\t\t}\n\t\t}\n\t}\n}\n");
        assert_eq!(repeating_tail(&text), None);
    }

    #[test]
    fn a_repetition_that_has_not_yet_covered_the_minimum_span_is_not() {
        let text = format!("{HEAD}{}", "\tx := 1\n".repeat(60));
        assert!(text.len() > MIN_SPAN);
        assert_eq!(
            repeating_tail(&text),
            None,
            "480 bytes repeated: below the span"
        );
    }

    #[test]
    fn multibyte_text_never_panics() {
        let text = "é".repeat(400) + "ü";
        assert_eq!(repeating_tail(&text), None);
        assert_eq!(repeating_tail(&"日本".repeat(200)).unwrap().period, 6);
    }
}
