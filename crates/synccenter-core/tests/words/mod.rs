//! The check that an error message reads as words: no Rust debug rendering (`Some(`, `None`, a struct's
//! `{ … }`, a path `a::b`) and no enum variant name (a `CamelCase` word, or a capitalised word such as
//! `Handler` where a person expects `handler`). Quoted text (an ID or a value the person gave, printed with
//! its quotes) is the person's own and is not checked. Shared by the message walks of the core
//! (`tests/messages.rs`) and of the config crate (which includes this file by path).

/// Panics with the message and the offending part unless `message` reads as words.
pub(crate) fn assert_words(message: &str) {
    let unquoted = without_quotes(message);
    for debug in ["Some(", "None", "{ ", " }", "::", "Ok(", "Err("] {
        assert!(!unquoted.contains(debug), "{message:?} shows a debug rendering ({debug:?})");
    }
    for (word, sentence_start) in words(&unquoted) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else { continue };
        let rest: Vec<char> = chars.collect();
        let camel = rest.windows(2).any(|w| w[0].is_lowercase() && w[1].is_uppercase())
            || (first.is_lowercase() && rest.iter().any(|c| c.is_uppercase()));
        let capitalised = !sentence_start && first.is_uppercase() && rest.first().is_some_and(|c| c.is_lowercase());
        assert!(!camel && !capitalised, "{message:?} has {word:?}, a type's name where a person expects words");
    }
    assert!(!message.trim().is_empty(), "an empty message");
}

/// The words of `text`, each with whether it opens a sentence inside the message (after `. `); the message
/// itself starts in lower case, as error messages do.
fn words(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut after_stop = false;
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (true, Some(_)) => {}
            (false, Some(s)) => {
                out.push((&text[s..i], after_stop));
                start = None;
                after_stop = c == '.';
            }
            (false, None) => after_stop = (after_stop && c.is_whitespace()) || c == '.',
        }
    }
    out
}

/// `message` with every `"…"` (with escapes) removed.
fn without_quotes(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in message.chars() {
        match (quoted, escaped, c) {
            (true, false, '\\') => escaped = true,
            (true, true, _) => escaped = false,
            (_, false, '"') => quoted = !quoted,
            (false, _, c) => out.push(c),
            (true, false, _) => {}
        }
    }
    out
}

#[test]
fn the_check_catches_debug_names() {
    for bad in [
        "Handler ID \"bad id\\twith tab\" is invalid: ControlCharacter",
        "handler ID \"x\" is invalid: TooLong { units: 64 }",
        "it would need Some(CAN_MERGE)",
        "conflict needs ResolutionAbilities(CAN_MERGE)",
        "already ended Succeeded",
    ] {
        assert!(std::panic::catch_unwind(|| assert_words(bad)).is_err(), "{bad:?} passed");
    }
    assert_words("handler ID \"Bad\\\"Id\" is invalid: it contains a control character (U+0000 to U+001F)");
    assert_words("must be an array, not a string. Write [\"a\"]");
}
