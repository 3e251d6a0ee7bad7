//! The pure rules: hosts of URLs, domain lists, and which facts about a target make an action
//! risky or prohibited. No I/O here, so every rule is unit-tested on plain data.

use serde::Deserialize;

pub use super::words::fold;
use super::words::{
    has_word, DELETE_WORDS, DOWNLOAD_EXTS, PURCHASE_WORDS, SEND_WORDS, SIGNUP_WORDS,
};

/// Why an action needs a person's confirmation every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    /// Buying, paying, subscribing, entering payment details.
    Purchase,
    /// Sending a message, posting, publishing, sharing.
    Send,
    /// Creating an account.
    AccountCreation,
    /// Deleting or removing something.
    Deletion,
    /// Starting a download.
    Download,
    /// Uploading a file.
    Upload,
    /// Running page script that can change the page in ways the host cannot see.
    Script,
    /// Running a shell command outside the sandbox.
    Unsandboxed,
    /// Changing what later sessions follow: saving a skill, installing a plugin.
    AgentSettings,
}

impl RiskKind {
    /// A short phrase for prompts and logs.
    pub fn describe(self) -> &'static str {
        match self {
            RiskKind::Purchase => "a purchase or payment",
            RiskKind::Send => "sending or publishing",
            RiskKind::AccountCreation => "creating an account",
            RiskKind::Deletion => "a deletion",
            RiskKind::Download => "a download",
            RiskKind::Upload => "a file upload",
            RiskKind::Script => "page script that changes the page",
            RiskKind::Unsandboxed => "a shell command outside the sandbox",
            RiskKind::AgentSettings => "a change to the agent's skills or settings",
        }
    }
}

/// What the page says about the element an action targets (gathered by `inspect`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TargetFacts {
    /// The element's outline line, when the walker knows it.
    pub line: String,
    /// Tag name of the actionable element (the target or its nearest actionable ancestor).
    pub tag: String,
    /// Its `type` attribute or property.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its explicit role attribute.
    pub role: String,
    /// Its visible text, value or label.
    pub text: String,
    /// Its link target, if a link.
    pub href: String,
    /// True for `<a download>`.
    pub download: bool,
    /// The enclosing form's action URL.
    pub form_action: String,
    /// The enclosing form's fields.
    pub fields: Vec<FieldFacts>,
    /// The labels of the enclosing form's submit buttons.
    pub submits: Vec<String>,
    /// The source of an iframe hit by a coordinate.
    pub iframe_src: String,
    /// The URL of the frame the element lives in.
    pub frame_url: String,
    /// True when the element is the form submission itself (a submit button or Enter in a
    /// field), so the whole form counts.
    pub submits_form: bool,
    /// True for Enter pressed (or a newline typed) in a message box (a textarea or an editable
    /// element), which pages commonly take as "send".
    pub enter_in_message: bool,
}

/// One form field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldFacts {
    /// Tag name.
    pub tag: String,
    /// Input type.
    #[serde(rename = "type")]
    pub kind: String,
    /// `name` and `id` joined.
    pub name: String,
    /// The `autocomplete` attribute.
    pub autocomplete: String,
    /// Its label text.
    pub label: String,
}

/// The host of a URL (lowercase, no port, no brackets), `file` for file URLs, or `None` for
/// URLs without one (about:blank, data:).
pub fn host_of(url: &str) -> Option<String> {
    let url = url.trim();
    // The scheme is the start of the address, as a browser reads it (a `://` inside a `data:`
    // payload is not a host).
    let (scheme, rest) = url.split_once(':')?;
    if scheme.is_empty()
        || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "file" {
        return Some("file".into());
    }
    // Special schemes take `\` for `/` and any number of slashes before the host
    // (`http:\\host`, `http:host`), as browsers do; others need `//`.
    let special = matches!(scheme.as_str(), "http" | "https" | "ws" | "wss" | "ftp");
    let rest = if special {
        rest.trim_start_matches(['/', '\\'])
    } else {
        rest.strip_prefix("//")?
    };
    let seps: &[char] = if special {
        &['/', '\\', '?', '#']
    } else {
        &['/', '?', '#']
    };
    let authority = rest.split(seps).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("").to_string()
    } else {
        percent_decode(host_port.split(':').next().unwrap_or(""))
    };
    let host = host.trim_end_matches('.').to_lowercase();
    if host.is_empty() {
        None
    } else {
        Some(host)
    }
}

/// `%6c%6f` → `lo` (a browser decodes the host before it resolves it).
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Normalises a domain a person typed (`https://Example.com/x` → `example.com`, `*.x.org` →
/// `x.org`).
pub fn normalize_domain(d: &str) -> String {
    let d = d.trim();
    let d = d.strip_prefix("*.").unwrap_or(d);
    match host_of(d) {
        Some(h) => h,
        None => {
            let h = d.split(['/', '?', '#']).next().unwrap_or(d);
            let h = h.rsplit_once(':').map(|(a, _)| a).unwrap_or(h);
            h.trim_end_matches('.').to_ascii_lowercase()
        }
    }
}

/// True when `host` is `domain` or one of its subdomains.
pub fn host_matches(host: &str, domain: &str) -> bool {
    let domain = normalize_domain(domain);
    if domain.is_empty() {
        return false;
    }
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(&domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

/// Domains a default policy never touches: CAPTCHA services (the agent never solves
/// CAPTCHAs) and the browser's own extension store.
pub const DEFAULT_PROHIBITED_DOMAINS: &[&str] = &[
    "recaptcha.net",
    "hcaptcha.com",
    "challenges.cloudflare.com",
    "arkoselabs.com",
    "funcaptcha.com",
    "chromewebstore.google.com",
];

/// True when a URL belongs to a CAPTCHA service.
pub fn is_captcha_url(url: &str) -> bool {
    let u = url.to_ascii_lowercase();
    u.contains("/recaptcha/")
        || [
            "hcaptcha.com",
            "challenges.cloudflare.com",
            "arkoselabs.com",
            "funcaptcha.com",
        ]
        .iter()
        .any(|d| host_of(&u).is_some_and(|h| host_matches(&h, d)))
}

/// True when the element looks like a CAPTCHA challenge.
pub fn is_captcha_target(f: &TargetFacts) -> bool {
    let t = format!("{} {}", f.text, f.line).to_ascii_lowercase();
    is_captcha_url(&f.iframe_src)
        || is_captcha_url(&f.frame_url)
        || t.contains("i'm not a robot")
        || t.contains("i am not a robot")
        || t.contains("captcha")
}

fn is_payment_field(f: &FieldFacts) -> bool {
    let ac = f.autocomplete.to_ascii_lowercase();
    let id = format!("{} {}", f.name, f.label).to_ascii_lowercase();
    ac.starts_with("cc-")
        || ac.contains(" cc-")
        || has_word(
            &id,
            &["card number", "cardnumber", "cvv", "cvc", "security code"],
        )
        || id.contains("card-number")
        || id.contains("cc-number")
        || id.contains("ccnum")
}

fn is_new_password(f: &FieldFacts) -> bool {
    f.autocomplete.to_ascii_lowercase().contains("new-password")
}

/// Why acting on this target is risky, if it is.
pub fn risk_of_target(f: &TargetFacts) -> Option<(RiskKind, String)> {
    let label = if f.text.is_empty() {
        f.line.clone()
    } else {
        f.text.clone()
    };
    let short: String = label.chars().take(80).collect();
    if f.tag == "input" && f.kind.eq_ignore_ascii_case("file") {
        return Some((RiskKind::Upload, format!("\"{short}\" opens a file upload")));
    }
    if f.download
        || (f.tag == "a"
            && DOWNLOAD_EXTS.iter().any(|e| {
                f.href
                    .split(['?', '#'])
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase()
                    .ends_with(e)
            }))
        || has_word(
            &label,
            &[
                "download",
                "export",
                "herunterladen",
                "télécharger",
                "descargar",
                "scarica",
                "downloaden",
                "baixar",
                "pobierz",
                "ladda ner",
            ],
        )
    {
        return Some((RiskKind::Download, format!("\"{short}\" starts a download")));
    }
    if f.enter_in_message {
        return Some((
            RiskKind::Send,
            format!("Enter in \"{short}\" may send the message"),
        ));
    }
    if has_word(&label, DELETE_WORDS) {
        return Some((RiskKind::Deletion, format!("\"{short}\" deletes something")));
    }
    if has_word(&label, PURCHASE_WORDS) {
        return Some((RiskKind::Purchase, format!("\"{short}\" buys or pays")));
    }
    if has_word(&label, SIGNUP_WORDS) {
        return Some((
            RiskKind::AccountCreation,
            format!("\"{short}\" creates an account"),
        ));
    }
    if has_word(&label, SEND_WORDS) {
        return Some((RiskKind::Send, format!("\"{short}\" sends or publishes")));
    }
    if f.submits_form {
        if f.fields.iter().any(is_payment_field) {
            return Some((
                RiskKind::Purchase,
                "the form submitted holds payment card fields".into(),
            ));
        }
        let new_pw = f.fields.iter().filter(|x| is_new_password(x)).count();
        let pw = f
            .fields
            .iter()
            .filter(|x| x.kind.eq_ignore_ascii_case("password"))
            .count();
        if new_pw >= 1 || pw >= 2 {
            return Some((
                RiskKind::AccountCreation,
                "the form submitted sets a new password (account creation)".into(),
            ));
        }
        for s in &f.submits {
            let sub = TargetFacts {
                text: s.clone(),
                ..Default::default()
            };
            if let Some(r) = risk_of_target(&sub) {
                return Some(r);
            }
        }
        let action = f.form_action.to_ascii_lowercase();
        if ["checkout", "payment", "/pay", "purchase", "order"]
            .iter()
            .any(|w| action.contains(w))
        {
            return Some((
                RiskKind::Purchase,
                format!("the form posts to {}", f.form_action),
            ));
        }
    }
    None
}

/// Why entering a value into this field is risky, if it is (payment card details).
pub fn risk_of_input(f: &TargetFacts) -> Option<(RiskKind, String)> {
    let field = FieldFacts {
        tag: f.tag.clone(),
        kind: f.kind.clone(),
        name: f.text.clone(),
        autocomplete: f
            .fields
            .first()
            .map(|x| x.autocomplete.clone())
            .unwrap_or_default(),
        label: f.line.clone(),
    };
    if is_payment_field(&field) {
        return Some((
            RiskKind::Purchase,
            "the field takes payment card details".into(),
        ));
    }
    if f.tag == "input" && f.kind.eq_ignore_ascii_case("file") {
        return Some((RiskKind::Upload, "the field uploads a file".into()));
    }
    None
}

/// True when page script is likely to change the page (clicks, submits, writes, requests
/// that are not plain GETs). Reading scripts (`document.title`, querySelector…) are not risky.
pub fn script_mutates(code: &str) -> bool {
    let c = code.to_ascii_lowercase().replace(char::is_whitespace, "");
    [
        ".click(",
        ".submit(",
        "requestsubmit(",
        "dispatchevent(",
        ".remove(",
        "removechild(",
        "innerhtml=",
        "outerhtml=",
        ".value=",
        "method:\"post",
        "method:'post",
        "method:\"delete",
        "method:'delete",
        "method:\"put",
        "method:'put",
        "method:\"patch",
        "method:'patch",
        "sendbeacon(",
        "xmlhttprequest",
        "location=",
        "location.href=",
        "location.assign(",
        "location.replace(",
        "document.cookie=",
        "localstorage.setitem(",
        "localstorage.clear(",
        "indexeddb.deletedatabase(",
    ]
    .iter()
    .any(|p| c.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            host_of("https://Shop.Example.com:8443/a?b#c").as_deref(),
            Some("shop.example.com")
        );
        assert_eq!(
            host_of("http://user:pw@127.0.0.1:99/").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(host_of("http://[::1]:8080/x").as_deref(), Some("::1"));
        assert_eq!(host_of("file:///tmp/x.html").as_deref(), Some("file"));
        assert_eq!(host_of("about:blank"), None);
        assert_eq!(normalize_domain("https://Example.com/path"), "example.com");
        assert_eq!(normalize_domain("*.example.org"), "example.org");
        assert_eq!(normalize_domain("localhost:8080"), "localhost");
    }

    #[test]
    fn domain_matching_needs_a_dot_boundary() {
        assert!(host_matches("example.com", "example.com"));
        assert!(host_matches("shop.example.com", "example.com"));
        assert!(!host_matches("evilexample.com", "example.com"));
        assert!(!host_matches("example.com.evil.net", "example.com"));
        assert!(!host_matches("example.com", ""));
    }

    fn target(text: &str) -> TargetFacts {
        TargetFacts {
            tag: "button".into(),
            text: text.into(),
            ..Default::default()
        }
    }

    #[test]
    fn risky_labels() {
        let kind = |t: &str| risk_of_target(&target(t)).map(|r| r.0);
        assert_eq!(kind("Delete account"), Some(RiskKind::Deletion));
        assert_eq!(kind("Remove"), Some(RiskKind::Deletion));
        assert_eq!(kind("Buy now"), Some(RiskKind::Purchase));
        assert_eq!(kind("Place order"), Some(RiskKind::Purchase));
        assert_eq!(kind("Send"), Some(RiskKind::Send));
        assert_eq!(kind("Publish post"), Some(RiskKind::Send));
        assert_eq!(kind("Create account"), Some(RiskKind::AccountCreation));
        assert_eq!(kind("Download report"), Some(RiskKind::Download));
        assert_eq!(kind("Add to cart"), None);
        assert_eq!(
            kind("Payroll settings"),
            None,
            "word boundaries: pay ≠ payroll"
        );
        assert_eq!(kind("Save"), None);
        assert_eq!(kind("Sign in"), None);
    }

    #[test]
    fn forms_count_when_submitted() {
        let card = TargetFacts {
            tag: "button".into(),
            text: "Continue".into(),
            submits_form: true,
            fields: vec![FieldFacts {
                tag: "input".into(),
                autocomplete: "cc-number".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(risk_of_target(&card).map(|r| r.0), Some(RiskKind::Purchase));
        let signup = TargetFacts {
            submits_form: true,
            fields: vec![
                FieldFacts {
                    kind: "password".into(),
                    ..Default::default()
                },
                FieldFacts {
                    kind: "password".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(
            risk_of_target(&signup).map(|r| r.0),
            Some(RiskKind::AccountCreation)
        );
        let login = TargetFacts {
            submits_form: true,
            text: "Sign in".into(),
            fields: vec![FieldFacts {
                kind: "password".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(risk_of_target(&login), None);
        let not_submitted = TargetFacts {
            submits_form: false,
            ..card
        };
        assert_eq!(risk_of_target(&not_submitted), None);
    }

    #[test]
    fn downloads_uploads_and_captchas() {
        let link = TargetFacts {
            tag: "a".into(),
            text: "Q3 figures".into(),
            href: "https://x.test/files/q3.zip?dl=1".into(),
            ..Default::default()
        };
        assert_eq!(risk_of_target(&link).map(|r| r.0), Some(RiskKind::Download));
        let file = TargetFacts {
            tag: "input".into(),
            kind: "file".into(),
            ..Default::default()
        };
        assert_eq!(risk_of_target(&file).map(|r| r.0), Some(RiskKind::Upload));
        let cap = TargetFacts {
            tag: "iframe".into(),
            iframe_src: "https://www.google.com/recaptcha/api2/anchor?k=1".into(),
            ..Default::default()
        };
        assert!(is_captcha_target(&cap));
        assert!(!is_captcha_target(&target("Add to cart")));
    }

    #[test]
    fn scripts_that_mutate() {
        assert!(script_mutates("document.querySelector('#delete').click()"));
        assert!(script_mutates("fetch('/api', { method: 'POST' })"));
        assert!(script_mutates("el.value = 'x'"));
        assert!(!script_mutates("document.title"));
        assert!(!script_mutates(
            "[...document.querySelectorAll('a')].map(a => a.href)"
        ));
    }

    /// The risk of clicking a button labelled `text`.
    fn risk(text: &str) -> Option<RiskKind> {
        risk_of_target(&TargetFacts {
            tag: "button".into(),
            text: text.into(),
            ..TargetFacts::default()
        })
        .map(|r| r.0)
    }

    #[test]
    fn risky_words_in_european_languages_and_icons() {
        for (t, k) in [
            ("Jetzt kaufen", RiskKind::Purchase),
            ("Zahlungspflichtig bestellen", RiskKind::Purchase),
            ("Acheter", RiskKind::Purchase),
            ("Finalizar compra", RiskKind::Purchase),
            ("Procedi all'acquisto", RiskKind::Purchase),
            ("Afrekenen", RiskKind::Purchase),
            ("Zamów", RiskKind::Purchase),
            ("Köp nu", RiskKind::Purchase),
            ("Löschen", RiskKind::Deletion),
            ("Supprimer", RiskKind::Deletion),
            ("Eliminar", RiskKind::Deletion),
            ("Usuń", RiskKind::Deletion),
            ("Ta bort", RiskKind::Deletion),
            ("🗑", RiskKind::Deletion),
            ("🗑 Delete", RiskKind::Deletion),
            ("Senden", RiskKind::Send),
            ("Envoyer", RiskKind::Send),
            ("Wyślij", RiskKind::Send),
            ("Skicka", RiskKind::Send),
            ("Créer un compte", RiskKind::AccountCreation),
            ("Herunterladen", RiskKind::Download),
        ] {
            assert_eq!(risk(t), Some(k), "{t}");
        }
        for t in [
            "Weiter",
            "Suivant",
            "Cancel",
            "Abbrechen",
            "Annuler",
            "Zurück",
        ] {
            assert_eq!(risk(t), None, "{t}");
        }
        let enter = TargetFacts {
            tag: "textarea".into(),
            text: "Message".into(),
            enter_in_message: true,
            ..TargetFacts::default()
        };
        assert_eq!(risk_of_target(&enter).map(|r| r.0), Some(RiskKind::Send));
    }

    #[test]
    fn hosts_as_a_browser_reads_them() {
        for (url, host) in [
            ("http://localhost:8/x", Some("localhost")),
            ("http:\\\\localhost:8\\x", Some("localhost")),
            ("http://localhost:8\\x\\@127.0.0.1/", Some("localhost")),
            ("HTTP://LocalHost:8/", Some("localhost")),
            ("http://%6c%6fcalhost:8/", Some("localhost")),
            ("http://user:pw@evil.example/", Some("evil.example")),
            ("http:evil.example/x", Some("evil.example")),
            ("https://[::1]:8/", Some("::1")),
            ("data:text/html,<a href=http://evil.example/>x</a>", None),
            (
                "data:text/html,<meta http-equiv=refresh content='0;url=http://evil.example/'>",
                None,
            ),
            ("about:blank", None),
            (
                "javascript://evil.example/%0aalert(1)",
                Some("evil.example"),
            ),
            ("file:///etc/passwd", Some("file")),
            ("%%", None),
        ] {
            assert_eq!(host_of(url).as_deref(), host, "{url}");
        }
    }

    #[test]
    fn lookalike_text_is_read_as_a_reader_sees_it() {
        assert_eq!(
            risk("Pl\u{430}ce \u{43e}rder"),
            Some(RiskKind::Purchase),
            "Cyrillic а, о"
        );
        assert_eq!(
            risk("De\u{200b}lete"),
            Some(RiskKind::Deletion),
            "zero-width space"
        );
        assert_eq!(
            risk("Pur\u{ad}chase"),
            Some(RiskKind::Purchase),
            "soft hyphen"
        );
        assert_eq!(
            risk("\u{ff22}\u{ff55}\u{ff59} \u{ff4e}\u{ff4f}\u{ff57}"),
            Some(RiskKind::Purchase),
            "full width"
        );
        assert_eq!(risk("Окно"), None, "ordinary Cyrillic words stay harmless");
    }
}
