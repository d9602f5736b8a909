//! Who may do what: bearer tokens with names and scopes (`read` or
//! `control`), optional limits to named sessions or ssh profiles, secrets
//! that can be typed without passing through the client, redaction of
//! secrets in answers and logs, and a per-token rate limit.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use regex::{Regex, RegexSet};
use serde::Deserialize;
use serde_json::Value;

use crate::tools::Scope;

/// A token and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Name for logs and error messages (never the token).
    pub name: String,
    /// The bearer token.
    pub token: String,
    /// `read` or `control`.
    pub scope: Scope,
    /// Session names / ssh profiles this token may touch (glob `*`);
    /// `None` = all.
    pub sessions: Option<Vec<String>>,
}

/// The grant a request came with.
pub type Principal = Arc<Grant>;

impl Grant {
    /// The grant of the main token: full control.
    pub fn main(token: &str) -> Grant {
        Grant {
            name: "default".to_string(),
            token: token.to_string(),
            scope: Scope::Control,
            sessions: None,
        }
    }

    /// Whether this grant covers a tool of `scope`.
    pub fn allows(&self, scope: Scope) -> bool {
        scope <= self.scope
    }

    /// Whether this grant may touch the session or profile called `name`.
    pub fn allows_session(&self, name: &str) -> bool {
        match &self.sessions {
            None => true,
            Some(patterns) => patterns.iter().any(|p| glob_match(p, name)),
        }
    }
}

/// `*` matches any run of characters; everything else literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// A `[[tokens]]` entry of the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFileConfig {
    /// Name for logs.
    pub name: String,
    /// The token (at least 16 printable characters).
    pub token: String,
    /// `read` or `control`.
    pub scope: Scope,
    /// Allowed session names or ssh profiles (glob `*`).
    #[serde(default)]
    pub sessions: Option<Vec<String>>,
}

/// Built-in redaction patterns: AWS access keys, bearer tokens, and
/// `password=`-style assignments (the key is kept, the value hidden).
const DEFAULT_REDACT: &[&str] = &[
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}",
    // A value starting with `$` is a shell expansion, not a secret; a lone
    // quote is the end of a prompt string (`read -p "Password: " pw`).
    r#"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key)([ \t]*[=:][ \t]*)(?:[^\s$"']\S*|["'][^\s"'$]\S*)"#,
];

/// The replacement for redacted text.
pub const REDACTED: &str = "[REDACTED]";

/// Hides secrets in text: configured patterns, the built-in ones, and the
/// literal values of every token and secret the server knows.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    patterns: Vec<Regex>,
    /// The same patterns as one set: a single pass tells whether any of
    /// them matches, so text with nothing to hide (nearly all of it) is
    /// neither copied nor scanned once per pattern.
    any_pattern: RegexSet,
    /// No pattern looks at where its text starts or ends (`^`, `$`, `\A`,
    /// `\z`, CRLF mode). Then a pattern matching inside one string also
    /// matches inside several strings joined by `\n` (a line break looks
    /// like the edge of a text to `(?m)^`, `(?m)$` and `\b`), and one pass
    /// over all the strings of an answer can tell that none of them has
    /// anything to hide — several times cheaper than a pass per string.
    joinable: bool,
    literals: Vec<String>,
}

impl Redactor {
    /// Compiles `extra` patterns plus the built-in ones; `literals` are
    /// hidden wherever they appear.
    pub fn new(extra: &[String], literals: Vec<String>) -> Result<Redactor, String> {
        let mut patterns = Vec::new();
        let sources: Vec<&str> = DEFAULT_REDACT
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .collect();
        for p in &sources {
            patterns.push(Regex::new(p).map_err(|e| format!("invalid redact pattern {p:?}: {e}"))?);
        }
        let any_pattern =
            RegexSet::new(&sources).map_err(|e| format!("invalid redact pattern: {e}"))?;
        let joinable = sources.iter().all(|p| !looks_at_text_edges(p));
        let mut literals: Vec<String> = literals.into_iter().filter(|l| l.len() >= 4).collect();
        // Longest first, so a secret containing another is hidden whole.
        literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
        Ok(Redactor {
            patterns,
            any_pattern,
            joinable,
            literals,
        })
    }

    /// `text` with every secret replaced by `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        self.redact_cow(text).into_owned()
    }

    /// Like [`redact`](Self::redact), borrowing `text` when there is
    /// nothing to hide in it.
    pub fn redact_cow<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.literals.iter().any(|l| text.contains(l.as_str()))
            && !self.any_pattern.is_match(text)
        {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for literal in &self.literals {
            if out.contains(literal.as_str()) {
                out = out.replace(literal.as_str(), REDACTED);
            }
        }
        for re in &self.patterns {
            if re.is_match(&out) {
                out = re
                    .replace_all(&out, |caps: &regex::Captures| {
                        // Keep `key=` of assignments so the reader sees what was hidden.
                        match (caps.get(1), caps.get(2)) {
                            (Some(key), Some(sep)) => {
                                format!("{}{}{REDACTED}", key.as_str(), sep.as_str())
                            }
                            _ => REDACTED.to_string(),
                        }
                    })
                    .into_owned();
            }
        }
        Cow::Owned(out)
    }

    /// True when several strings may be checked at once: joined, each
    /// followed by `\n`, and given to [`hides_nothing_in_joined`](Self::hides_nothing_in_joined).
    pub fn checks_joined_strings(&self) -> bool {
        self.joinable
    }

    /// Whether `joined` — strings each followed by `\n` — holds nothing to
    /// hide; then [`redact_cow`](Self::redact_cow) leaves each of those
    /// strings as it is. Only meaningful when
    /// [`checks_joined_strings`](Self::checks_joined_strings). Each pattern
    /// runs on its own here: on a long text its own literal prefilter beats
    /// the set's.
    pub fn hides_nothing_in_joined(&self, joined: &str) -> bool {
        !self.literals.iter().any(|l| joined.contains(l.as_str()))
            && !self.patterns.iter().any(|re| re.is_match(joined))
    }

    /// Redacts every string inside a JSON value, in place.
    pub fn redact_json(&self, value: &mut Value) {
        if self.joinable {
            let mut joined = String::new();
            join_strings(value, &mut joined);
            if self.hides_nothing_in_joined(&joined) {
                return;
            }
        }
        self.redact_each(value);
    }

    fn redact_each(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(redacted) = self.redact_cow(s)
                    && redacted != *s
                {
                    *s = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_each(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.redact_each(v)),
            _ => {}
        }
    }
}

/// Whether `pattern` asserts the start or end of its text (`^`, `$`, `\A`,
/// `\z`, or line edges in CRLF mode); true when it cannot be parsed.
fn looks_at_text_edges(pattern: &str) -> bool {
    use regex_syntax::hir::Look;
    match regex_syntax::parse(pattern) {
        Ok(hir) => {
            let looks = hir.properties().look_set();
            [Look::Start, Look::End, Look::StartCRLF, Look::EndCRLF]
                .into_iter()
                .any(|look| looks.contains(look))
        }
        Err(_) => true,
    }
}

/// Appends every string value inside `value` (not object keys, which are
/// never redacted) to `out`, each followed by a line break.
fn join_strings(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|v| join_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| join_strings(v, out)),
        _ => {}
    }
}

/// Security settings beyond the main token.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// Every token: the main one first, then the configured ones.
    pub grants: Vec<Arc<Grant>>,
    /// Named secrets for `session_send_keys {secret}` (config values; env
    /// `TERMBRIDGE_SECRET_<NAME>` is looked up at use).
    pub secrets: BTreeMap<String, String>,
    /// Redaction applied to answers and to the audit log.
    pub redactor: Redactor,
    /// The audit log file; `None` = no audit log.
    pub audit_log: Option<PathBuf>,
    /// Size at which the audit log is rotated.
    pub audit_max_bytes: u64,
    /// Requests per second each token may make (burst: twice that); 0 = off.
    pub rate_limit_per_second: u32,
}

impl AccessConfig {
    /// Only the main token, no audit log, defaults elsewhere.
    pub fn with_main_token(token: &str) -> AccessConfig {
        AccessConfig {
            grants: vec![Arc::new(Grant::main(token))],
            secrets: BTreeMap::new(),
            redactor: Redactor::new(&[], vec![token.to_string()])
                .expect("built-in patterns compile"),
            audit_log: None,
            audit_max_bytes: 10 * 1024 * 1024,
            rate_limit_per_second: 0,
        }
    }

    /// The value of secret `name`: config first, then `TERMBRIDGE_SECRET_<NAME>`.
    pub fn secret(&self, name: &str) -> Option<String> {
        if let Some(v) = self.secrets.get(name) {
            return Some(v.clone());
        }
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return None;
        }
        std::env::var(format!("TERMBRIDGE_SECRET_{}", name.to_ascii_uppercase())).ok()
    }

    /// Rebuilds the redactor so it also hides every token and secret value.
    pub fn with_redaction(mut self, extra: &[String]) -> Result<AccessConfig, String> {
        let mut literals: Vec<String> = self.grants.iter().map(|g| g.token.clone()).collect();
        literals.extend(self.secrets.values().cloned());
        self.redactor = Redactor::new(extra, literals)?;
        Ok(self)
    }
}

/// A token bucket per grant name.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one request from `name`'s bucket; `Err(seconds)` says when to retry.
    pub fn take(&self, name: &str, per_second: u32) -> Result<(), u64> {
        if per_second == 0 {
            return Ok(());
        }
        let rate = f64::from(per_second);
        let burst = rate * 2.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (tokens, last) = buckets.entry(name.to_string()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("build-*", "build-42"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("build-*", "prod"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn redaction_hides_secrets_and_keeps_keys() {
        let r = Redactor::new(
            &[r"sk-[a-z0-9]{8}".to_string()],
            vec!["hunter2-long".into()],
        )
        .unwrap();
        assert_eq!(r.redact("AKIAABCDEFGHIJKLMNOP x"), "[REDACTED] x");
        assert_eq!(
            r.redact("Authorization: Bearer abc.def.ghi123"),
            "Authorization: [REDACTED]"
        );
        assert_eq!(
            r.redact("mysql -u root password=s3cret!"),
            "mysql -u root password=[REDACTED]"
        );
        assert_eq!(r.redact("key sk-abcd1234 end"), "key [REDACTED] end");
        assert_eq!(r.redact("typed hunter2-long here"), "typed [REDACTED] here");
        assert_eq!(r.redact("nothing to hide"), "nothing to hide");
        // A prompt followed by a line break hides nothing of the next line.
        assert_eq!(r.redact("Password: \nlen=7"), "Password: \nlen=7");
        // Shell expansions are not secrets (documentation shows them).
        assert_eq!(
            r.redact("TOKEN=$(termbridge token)"),
            "TOKEN=$(termbridge token)"
        );
        assert_eq!(r.redact("token=$TOKEN"), "token=$TOKEN");
        // Quoted values are hidden; a prompt's closing quote is not a value.
        assert_eq!(r.redact(r#"password="s3 x""#), r#"password=[REDACTED] x""#);
        assert_eq!(r.redact("api_key='abc123'"), "api_key=[REDACTED]");
        assert_eq!(
            r.redact(r#"read -s -p "Password: " pw"#),
            r#"read -s -p "Password: " pw"#
        );
        assert_eq!(r.redact(r#"token="$TOKEN""#), r#"token="$TOKEN""#);
        let mut v = serde_json::json!({"a": ["password=x1"], "b": 3});
        r.redact_json(&mut v);
        assert_eq!(v, serde_json::json!({"a": ["password=[REDACTED]"], "b": 3}));
    }

    #[test]
    fn only_patterns_anchored_at_text_edges_stop_the_joined_check() {
        let joinable = |p: &str| {
            Redactor::new(&[p.to_string()], vec![])
                .unwrap()
                .checks_joined_strings()
        };
        assert!(Redactor::new(&[], vec![]).unwrap().checks_joined_strings());
        for p in [r"\bkey\b", r"(?m)^pw\d+$", r"[^$^]x", r"\B-\d"] {
            assert!(joinable(p), "{p}");
        }
        for p in [
            r"^secret",
            r"secret$",
            r"\Asecret",
            r"x\z",
            r"(?Rm)^x",
            r"(?Rm)x$",
        ] {
            assert!(!joinable(p), "{p}");
        }
    }

    /// Strings built from fragments that do and do not hold secrets.
    fn secretish() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let fragment = prop::sample::select(vec![
            "password=",
            "Token: ",
            "s3cret",
            "$HOME",
            "\"",
            "'",
            " ",
            "\n",
            "\r",
            "\t",
            "é",
            "key",
            "-7",
            "pw12",
            "AKIAABCDEFGHIJKLMNOP",
            "Bearer ",
            "abc.def.ghi",
            "hunter2-long",
            "hunter2",
            "sk-abcd1234",
            "secret",
            "x",
        ]);
        prop::collection::vec(fragment, 0..8).prop_map(|parts| parts.concat())
    }

    fn secretish_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            secretish().prop_map(Value::String),
            any::<i32>().prop_map(Value::from),
            Just(Value::Null),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(secretish(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// `redact_json` hides exactly what redacting each string alone
        /// hides, whether the joined check applies or not.
        #[test]
        fn redact_json_equals_redacting_each_string(value in secretish_json()) {
            static REDACTORS: std::sync::OnceLock<Vec<Redactor>> = std::sync::OnceLock::new();
            let redactors = REDACTORS.get_or_init(|| {
                [r"sk-[a-z0-9]{8}", r"(?m)^pw\d+$", r"\bkey\b", r"^secret$", r"x\z"]
                    .iter()
                    .map(|p| Redactor::new(&[p.to_string()], vec!["hunter2-long".into()]).unwrap())
                    .collect()
            });
            for r in redactors {
                let mut expected = value.clone();
                r.redact_each(&mut expected);
                let mut got = value.clone();
                r.redact_json(&mut got);
                proptest::prop_assert_eq!(&got, &expected, "patterns {:?}", r.patterns);
            }
        }
    }

    #[test]
    fn bad_patterns_are_reported() {
        assert!(
            Redactor::new(&["(".to_string()], vec![])
                .unwrap_err()
                .contains("invalid redact pattern")
        );
    }

    #[test]
    fn rate_limit_allows_a_burst_then_refuses() {
        let limiter = RateLimiter::default();
        for _ in 0..20 {
            assert!(limiter.take("t", 10).is_ok());
        }
        assert_eq!(limiter.take("t", 10), Err(1));
        assert!(limiter.take("other", 10).is_ok());
        assert!(limiter.take("t", 0).is_ok());
    }

    #[test]
    fn scopes_and_sessions() {
        let g = Grant {
            name: "r".into(),
            token: "x".into(),
            scope: Scope::Read,
            sessions: Some(vec!["build-*".into()]),
        };
        assert!(g.allows(Scope::Read));
        assert!(!g.allows(Scope::Control));
        assert!(g.allows_session("build-1"));
        assert!(!g.allows_session("prod"));
        assert!(Grant::main("t").allows(Scope::Control));
    }
}
