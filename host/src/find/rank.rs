//! Deterministic, offline ranking of page elements against a natural-language
//! query, used by the `find` browser tool.
//!
//! No model is involved: the query is parsed with a small hand-written lexicon
//! and every [`Candidate`] (one element of the page's accessibility outline) is
//! scored with a weighted sum of independent signals, normalised to `0..=1`.
//!
//! # Parsing the query
//!
//! * Text is lowercased and split on non-alphanumerics. Quoted segments
//!   (`"…"`, `“…”`, `'…'`, `«…»`) are kept as *phrases*.
//! * Leading verbs and filler ("please click on the", "find", "select") are
//!   dropped as long as something meaningful remains.
//! * Multi-word lexicon entries are matched greedily, longest first (up to
//!   three words): *role words* ("search box", "radio button", "dropdown",
//!   "header", ...) and *concepts* (synonym groups such as
//!   `sign in = log in = login = signin`).
//! * A preposition ("in", "for", "under", "next to", ...) switches the rest of
//!   the query into *qualifier* mode: role words there become context
//!   constraints ("in the header" → ancestor `banner`) and content words become
//!   qualifier terms that preferably match the surroundings ("for the Blue
//!   shirt" → `nearby`).
//! * Of the role words outside qualifiers, the last one is the *target role*
//!   ("header search box" → search box); earlier ones become modifier
//!   constraints, satisfied by a matching ancestor or by the word appearing in
//!   the element's label ("menu button" → a button named "Menu").
//! * Ordinals ("first", "2nd", "last", "second to last") are recorded, except
//!   in "first name" / "last name".
//! * Remaining stop words are dropped; every other word is a *head term*.
//!
//! # Scoring a candidate
//!
//! Each term is matched against the candidate's fields (name, description /
//! placeholder, value, nearby text, ancestor context). A word matches a token
//! exactly (1.0), by plural stem (0.95), through a concept synonym (0.85, or
//! 0.65 when the query word was itself a typo of a concept word), within
//! Damerau-Levenshtein distance 1 for words of ≥ 4 chars or 2 for ≥ 8 chars
//! (0.75 / 0.6), or as a prefix (0.45..0.7). Field weights depend on the term
//! kind: head terms prefer the name, qualifier terms prefer `nearby` and
//! `context`. The weighted average over terms is the text match `T`; it is
//! scaled by `0.7 + 0.3·E`, where `E` is how much of the element's label is
//! covered by query words, so that exact full-name equality is the strongest
//! text signal ("password" prefers "Password" over "Forgot password?").
//!
//! The final score is `raw / max`, where both are sums over the signals the
//! query actually uses:
//!
//! | signal | weight |
//! |---|---|
//! | text match `T·(0.7+0.3E)` | 1.0 |
//! | role match `R` with the target role | 0.5 with text, 1.0 role-only |
//! | target word in the label ("search" for "search box") | 0.1 |
//! | each modifier / context constraint | 0.35 / 0.2 |
//! | interactive element, for action-ish or role-less queries | 0.05 |
//!
//! `R` comes from a per-intent table of ARIA roles: "button" accepts `button`
//! fully and a `link` at 0.2; "search box" accepts `searchbox` fully and a
//! `textbox` / `combobox` whose name, placeholder or nearby text says "search"
//! at 0.95; an element whose label contains the role word itself ("Menu" for
//! "menu") gets at least 0.75.
//!
//! Then: plain text nodes (paragraph, generic, static text) are multiplied by
//! 0.85 unless the query asks for text or headings; candidates whose label
//! lacks a quoted phrase are multiplied by 0.3. Ordinals pick, among the
//! candidates of the target role that score within 0.1 of the best of them,
//! the n-th in document order; it is pinned first and the rest of that group
//! is damped by 0.9. Candidates scoring below 0.25 are dropped; the rest are
//! sorted best first, ties broken by document order.
//!
//! Cost is linear in the number of candidates: fields are tokenized lazily
//! (only those a query needs) into buffers reused across candidates, fuzzy
//! matching is gated by length and letter-set filters, and tens of thousands
//! of candidates rank in milliseconds.

/// Scores below this are not returned.
const THRESHOLD: f32 = 0.25;

/// Field indices into [`Scratch::ranges`].
const NAME: usize = 0;
const DESC: usize = 1;
const VALUE: usize = 2;
const NEARBY: usize = 3;
const CTX: usize = 4;
const FIELDS: usize = 5;

/// One element of the page that `find` may return.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    /// ARIA role as rendered in the outline, lowercase: "button", "link", "textbox", "searchbox", "combobox", "checkbox", "radio", "slider", "spinbutton", "heading", "img", "listitem", "cell", "row", "navigation", "banner", "main", "contentinfo", "search", "form", "dialog", "tab", "menuitem", "option", "switch", "generic", "paragraph", "iframe", etc.
    pub role: String,
    /// Accessible name ("" when none).
    pub name: String,
    /// Current value of a control, if any.
    pub value: Option<String>,
    /// Placeholder / description text, if any.
    pub description: Option<String>,
    /// Roles and names of ancestor landmarks, headings and containers, nearest last, e.g. ["banner", "navigation Main menu", "form Sign up"].
    pub context: Vec<String>,
    /// Text near the element: label-like text of its parent / siblings (may be empty), lowercase or not.
    pub nearby: String,
    /// Whether a person can act on it (click, type...).
    pub interactive: bool,
    /// Document order index (for tie-breaks and "first/second/last" ordinals).
    pub order: usize,
    /// Its place (1-based) in a run of alike items (search results, cards, rows of a list)
    /// when it is the first thing to act on in its item; 0 otherwise. "The 9th result" is the
    /// ninth of these.
    pub item: u32,
}

/// Scores every candidate against `query`; returns (index into candidates, score in 0..=1) of those above the relevance threshold, best first; ties broken by document order.
pub fn rank(query: &str, candidates: &[Candidate]) -> Vec<(usize, f32)> {
    let q = match Query::parse(query) {
        Some(q) => q,
        None => return Vec::new(),
    };
    let mut scratch = Scratch::default();
    let mut scores = Vec::with_capacity(candidates.len());
    let mut primary = Vec::with_capacity(candidates.len());
    for c in candidates {
        let (s, p) = q.score(c, &mut scratch);
        scores.push(s);
        primary.push(p);
    }
    let pinned = match q.ordinal {
        Some(o) => apply_ordinal(o, q.target.is_some(), candidates, &mut scores, &primary),
        None => None,
    };
    let mut out: Vec<(usize, f32)> = scores
        .iter()
        .enumerate()
        .filter(|&(_, &s)| s >= THRESHOLD)
        .map(|(i, &s)| (i, s))
        .collect();
    out.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| (Some(b.0) == pinned).cmp(&(Some(a.0) == pinned)))
            .then_with(|| candidates[a.0].order.cmp(&candidates[b.0].order))
            .then_with(|| a.0.cmp(&b.0))
    });
    out
}

/// Picks the candidate an ordinal designates, boosts it to the top score and
/// damps the rest of its group. Returns the picked index.
fn apply_ordinal(
    ord: Ordinal,
    has_target: bool,
    candidates: &[Candidate],
    scores: &mut [f32],
    primary: &[bool],
) -> Option<usize> {
    let eligible =
        |i: usize, need_primary: bool| scores[i] >= THRESHOLD && (!need_primary || primary[i]);
    let mut need_primary = has_target;
    if need_primary && !(0..scores.len()).any(|i| eligible(i, true)) {
        need_primary = false;
    }
    let best = (0..scores.len())
        .filter(|&i| eligible(i, need_primary))
        .map(|i| scores[i])
        .fold(f32::NEG_INFINITY, f32::max);
    if !best.is_finite() {
        return None;
    }
    let mut group: Vec<usize> = (0..scores.len())
        .filter(|&i| eligible(i, need_primary) && scores[i] >= best - 0.1)
        .collect();
    group.sort_by_key(|&i| (candidates[i].order, i));
    let pick = match ord {
        Ordinal::FromStart(n) => group.get(n.checked_sub(1)?).copied()?,
        Ordinal::FromEnd(n) => group.get(group.len().checked_sub(n)?).copied()?,
    };
    let top = scores.iter().copied().fold(0.0f32, f32::max);
    for &i in &group {
        if i != pick {
            scores[i] *= 0.9;
        }
    }
    scores[pick] = top.max(scores[pick]);
    Some(pick)
}

// ---------------------------------------------------------------------------
// Lexicon
// ---------------------------------------------------------------------------

/// A role the query asks for, possibly covering several ARIA roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    Button,
    Link,
    Search,
    Textbox,
    Combobox,
    Checkbox,
    Radio,
    Slider,
    Switch,
    Tab,
    Menu,
    Navigation,
    Heading,
    Img,
    Banner,
    Contentinfo,
    Complementary,
    Table,
    Row,
    Cell,
    Dialog,
    List,
    Item,
    Form,
    Main,
    Text,
    Option,
    Spinbutton,
    Region,
    /// One of a run of alike items: a search result, a card, a product.
    Hit,
}

impl Intent {
    /// Roles a person acts on: interactive candidates get a mild boost.
    fn is_action(self) -> bool {
        use Intent::*;
        matches!(
            self,
            Button
                | Link
                | Search
                | Textbox
                | Combobox
                | Checkbox
                | Radio
                | Slider
                | Switch
                | Tab
                | Menu
                | Option
                | Spinbutton
                | Hit
        )
    }

    /// ARIA roles satisfying this intent, with how well they do.
    fn roles(self) -> &'static [(&'static str, f32)] {
        use Intent::*;
        match self {
            Button => &[
                ("button", 1.0),
                ("splitbutton", 0.9),
                ("togglebutton", 0.8),
                ("menuitem", 0.4),
                ("switch", 0.4),
                ("tab", 0.3),
                ("menuitemcheckbox", 0.3),
                ("menuitemradio", 0.3),
                ("link", 0.2),
            ],
            Link => &[
                ("link", 1.0),
                ("menuitem", 0.5),
                ("button", 0.2),
                ("tab", 0.2),
            ],
            Search => &[
                ("searchbox", 1.0),
                ("search", 0.5),
                ("textbox", 0.2),
                ("combobox", 0.2),
            ],
            Textbox => &[
                ("textbox", 1.0),
                ("textarea", 1.0),
                ("searchbox", 0.95),
                ("combobox", 0.9),
                ("spinbutton", 0.9),
            ],
            Combobox => &[
                ("combobox", 1.0),
                ("listbox", 1.0),
                ("select", 1.0),
                ("menu", 0.4),
                ("button", 0.3),
            ],
            Checkbox => &[
                ("checkbox", 1.0),
                ("menuitemcheckbox", 0.9),
                ("switch", 0.8),
            ],
            Radio => &[("radio", 1.0), ("menuitemradio", 0.9), ("radiogroup", 0.6)],
            Slider => &[("slider", 1.0), ("spinbutton", 0.4), ("scrollbar", 0.4)],
            Switch => &[
                ("switch", 1.0),
                ("checkbox", 0.9),
                ("togglebutton", 0.9),
                ("menuitemcheckbox", 0.7),
                ("button", 0.4),
            ],
            Tab => &[("tab", 1.0), ("tablist", 0.6), ("tabpanel", 0.4)],
            Menu => &[
                ("menu", 1.0),
                ("menubar", 1.0),
                ("menuitem", 1.0),
                ("menuitemcheckbox", 0.9),
                ("menuitemradio", 0.9),
                ("navigation", 0.6),
            ],
            Navigation => &[("navigation", 1.0), ("nav", 1.0), ("menubar", 0.8)],
            Heading => &[("heading", 1.0)],
            Img => &[
                ("img", 1.0),
                ("image", 1.0),
                ("graphics-document", 0.9),
                ("graphics-symbol", 0.9),
                ("svgroot", 0.9),
                ("figure", 0.8),
            ],
            Banner => &[("banner", 1.0), ("header", 1.0)],
            Contentinfo => &[("contentinfo", 1.0), ("footer", 1.0)],
            Complementary => &[("complementary", 1.0), ("aside", 1.0)],
            Table => &[("table", 1.0), ("grid", 1.0), ("treegrid", 0.9)],
            Row => &[("row", 1.0)],
            Cell => &[
                ("cell", 1.0),
                ("gridcell", 1.0),
                ("columnheader", 0.9),
                ("rowheader", 0.9),
            ],
            Dialog => &[("dialog", 1.0), ("alertdialog", 1.0)],
            List => &[
                ("list", 1.0),
                ("listbox", 0.7),
                ("tree", 0.5),
                ("menu", 0.4),
            ],
            Item => &[
                ("listitem", 1.0),
                ("option", 1.0),
                ("menuitem", 1.0),
                ("treeitem", 1.0),
                ("row", 0.5),
            ],
            Form => &[("form", 1.0)],
            Main => &[("main", 1.0)],
            Text => &[
                ("paragraph", 1.0),
                ("statictext", 1.0),
                ("text", 1.0),
                ("label", 1.0),
                ("generic", 0.9),
                ("blockquote", 0.8),
                ("caption", 0.8),
                ("note", 0.8),
                ("status", 0.7),
                ("alert", 0.7),
                ("heading", 0.7),
            ],
            Option => &[
                ("option", 1.0),
                ("menuitemradio", 0.6),
                ("radio", 0.5),
                ("menuitem", 0.5),
                ("listitem", 0.4),
            ],
            Spinbutton => &[("spinbutton", 1.0), ("textbox", 0.6), ("slider", 0.4)],
            Region => &[
                ("region", 1.0),
                ("section", 1.0),
                ("group", 0.8),
                ("article", 0.8),
            ],
            // Not a role: items are told by their place in a run (see `Candidate::item`).
            Hit => &[],
        }
    }
}

/// How well an ARIA role satisfies an intent (case-insensitive).
fn role_score(intent: Intent, role: &str) -> f32 {
    intent
        .roles()
        .iter()
        .find(|(r, _)| r.eq_ignore_ascii_case(role))
        .map_or(0.0, |&(_, s)| s)
}

/// Role words of the query, keyed by their space-joined lowercase words.
const ROLE_WORDS: &[(&str, Intent)] = {
    use Intent::*;
    &[
        ("button", Button),
        ("btn", Button),
        ("link", Link),
        ("hyperlink", Link),
        ("anchor", Link),
        ("search box", Search),
        ("searchbox", Search),
        ("search bar", Search),
        ("searchbar", Search),
        ("search field", Search),
        ("search input", Search),
        ("search text box", Search),
        ("search textbox", Search),
        ("search text field", Search),
        ("text box", Textbox),
        ("textbox", Textbox),
        ("text field", Textbox),
        ("text input", Textbox),
        ("text area", Textbox),
        ("textarea", Textbox),
        ("input box", Textbox),
        ("input field", Textbox),
        ("input", Textbox),
        ("field", Textbox),
        ("box", Textbox),
        ("dropdown", Combobox),
        ("drop down", Combobox),
        ("dropdown list", Combobox),
        ("drop down list", Combobox),
        ("dropdown menu", Combobox),
        ("drop down menu", Combobox),
        ("select", Combobox),
        ("select box", Combobox),
        ("selectbox", Combobox),
        ("combo", Combobox),
        ("combo box", Combobox),
        ("combobox", Combobox),
        ("listbox", Combobox),
        ("list box", Combobox),
        ("picker", Combobox),
        ("checkbox", Checkbox),
        ("check box", Checkbox),
        ("tick box", Checkbox),
        ("tickbox", Checkbox),
        ("radio", Radio),
        ("radio button", Radio),
        ("radiobutton", Radio),
        ("option button", Radio),
        ("slider", Slider),
        ("range", Slider),
        ("range slider", Slider),
        ("toggle", Switch),
        ("switch", Switch),
        ("toggle switch", Switch),
        ("toggle button", Switch),
        ("tab", Tab),
        ("menu", Menu),
        ("menu item", Menu),
        ("menuitem", Menu),
        ("menu bar", Navigation),
        ("menubar", Navigation),
        ("nav", Navigation),
        ("navigation", Navigation),
        ("navbar", Navigation),
        ("nav bar", Navigation),
        ("navigation bar", Navigation),
        ("heading", Heading),
        ("subheading", Heading),
        ("headline", Heading),
        ("title", Heading),
        ("header text", Heading),
        ("h1", Heading),
        ("h2", Heading),
        ("h3", Heading),
        ("h4", Heading),
        ("h5", Heading),
        ("h6", Heading),
        ("image", Img),
        ("img", Img),
        ("picture", Img),
        ("photo", Img),
        ("icon", Img),
        ("logo", Img),
        ("graphic", Img),
        ("header", Banner),
        ("banner", Banner),
        ("page header", Banner),
        ("footer", Contentinfo),
        ("page footer", Contentinfo),
        ("sidebar", Complementary),
        ("side bar", Complementary),
        ("aside", Complementary),
        ("table", Table),
        ("grid", Table),
        ("row", Row),
        ("cell", Cell),
        ("dialog", Dialog),
        ("dialog box", Dialog),
        ("alert dialog", Dialog),
        ("modal", Dialog),
        ("popup", Dialog),
        ("pop up", Dialog),
        ("lightbox", Dialog),
        ("list", List),
        ("item", Item),
        ("list item", Item),
        ("form", Form),
        ("main content", Main),
        ("main area", Main),
        ("main section", Main),
        ("text", Text),
        ("paragraph", Text),
        ("label", Text),
        ("option", Option),
        ("spinbutton", Spinbutton),
        ("spinner", Spinbutton),
        ("stepper", Spinbutton),
        ("number field", Spinbutton),
        ("number input", Spinbutton),
        ("section", Region),
        ("region", Region),
        ("panel", Region),
        ("result", Hit),
        ("search result", Hit),
        ("hit", Hit),
        ("search hit", Hit),
    ]
};

/// Role words that are also commonly part of an element's name.
const NAMEABLE: &[&str] = &[
    "search",
    "menu",
    "logo",
    "icon",
    "title",
    "image",
    "picture",
    "photo",
    "header",
    "footer",
    "sidebar",
    "banner",
    "navigation",
    "nav",
    "popup",
    "modal",
];

/// Synonym groups for common intents; forms are space-joined lowercase words.
const CONCEPTS: &[&[&str]] = &[
    &[
        "submit", "send", "go", "continue", "next", "ok", "okay", "confirm", "proceed", "done",
    ],
    &["login", "log in", "sign in", "signin", "logon", "log on"],
    &[
        "logout", "log out", "sign out", "signout", "log off", "logoff",
    ],
    &[
        "signup",
        "sign up",
        "register",
        "create account",
        "join",
        "registration",
    ],
    &["delete", "remove", "trash", "discard", "erase"],
    &["close", "dismiss", "x"],
    &["cart", "basket", "bag", "shopping cart", "trolley"],
    &["email", "e mail", "mail"],
    &["password", "passcode", "pwd", "passphrase", "pass word"],
    &["username", "user name", "login name", "userid", "user id"],
    &["phone", "telephone", "mobile", "cell phone", "tel"],
    &["search", "find", "lookup", "look up"],
    &["back", "previous", "prev", "go back"],
    &["home", "homepage", "home page"],
    &["settings", "preferences", "config", "configuration"],
    &["edit", "modify"],
    &["checkout", "check out"],
    &["help", "support"],
];

/// Index of the search concept in [`CONCEPTS`].
const SEARCH_CONCEPT: usize = 11;

/// Words carrying no meaning for matching.
fn is_stop(w: &str) -> bool {
    matches!(
        w,
        "the"
            | "a"
            | "an"
            | "in"
            | "on"
            | "of"
            | "for"
            | "to"
            | "with"
            | "at"
            | "that"
            | "this"
            | "these"
            | "those"
            | "element"
            | "elements"
            | "please"
            | "click"
            | "is"
            | "are"
            | "be"
            | "it"
            | "its"
            | "my"
            | "me"
            | "i"
            | "you"
            | "your"
            | "our"
            | "and"
            | "or"
            | "by"
            | "from"
            | "into"
            | "inside"
            | "within"
            | "under"
            | "near"
            | "there"
            | "here"
            | "which"
            | "where"
            | "what"
            | "labeled"
            | "labelled"
            | "called"
            | "named"
            | "says"
            | "saying"
            | "reads"
            | "containing"
            | "contains"
            | "one"
            | "ones"
            | "thing"
            | "control"
            | "widget"
            | "some"
            | "any"
    )
}

/// Words after which the rest of the query qualifies the target.
fn is_preposition(w: &str) -> bool {
    matches!(
        w,
        "in" | "inside"
            | "within"
            | "under"
            | "underneath"
            | "near"
            | "beside"
            | "besides"
            | "below"
            | "above"
            | "beneath"
            | "for"
            | "from"
            | "by"
            | "on"
            | "at"
            | "around"
            | "after"
            | "before"
            | "over"
    )
}

/// Verbs that may open a query ("click the", "find the", "select ...").
fn is_leading_verb(w: &str) -> bool {
    matches!(
        w,
        "click"
            | "tap"
            | "press"
            | "hit"
            | "push"
            | "choose"
            | "pick"
            | "open"
            | "go"
            | "navigate"
            | "type"
            | "enter"
            | "fill"
            | "find"
            | "locate"
            | "focus"
            | "get"
            | "show"
            | "select"
            | "check"
            | "uncheck"
            | "toggle"
            | "use"
            | "scroll"
            | "hover"
            | "activate"
            | "visit"
            | "follow"
    )
}

/// Roles of plain text nodes.
fn is_texty(role: &str) -> bool {
    const TEXTY: &[&str] = &[
        "paragraph",
        "generic",
        "statictext",
        "text",
        "none",
        "presentation",
        "label",
        "inlinetextbox",
        "listmarker",
        "strong",
        "emphasis",
        "code",
        "time",
        "mark",
        "caption",
        "term",
        "definition",
        "blockquote",
        "note",
    ];
    TEXTY.iter().any(|t| t.eq_ignore_ascii_case(role))
}

/// A position designated by an ordinal word (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ordinal {
    FromStart(usize),
    FromEnd(usize),
}

fn ordinal_of(w: &str) -> Option<Ordinal> {
    const WORDS: &[&str] = &[
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth",
    ];
    if let Some(i) = WORDS.iter().position(|&x| x == w) {
        return Some(Ordinal::FromStart(i + 1));
    }
    match w {
        "last" | "final" => return Some(Ordinal::FromEnd(1)),
        "penultimate" => return Some(Ordinal::FromEnd(2)),
        _ => {}
    }
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && digits < 4 && matches!(&w[digits..], "st" | "nd" | "rd" | "th") {
        let n: usize = w[..digits].parse().ok()?;
        if n > 0 {
            return Some(Ordinal::FromStart(n));
        }
    }
    None
}

enum Lex {
    Role(Intent),
    Concept(usize),
}

/// Looks a space-joined key up in the role words and concepts.
fn lookup_key(key: &str) -> Option<Lex> {
    if let Some(&(_, intent)) = ROLE_WORDS.iter().find(|(k, _)| *k == key) {
        return Some(Lex::Role(intent));
    }
    CONCEPTS
        .iter()
        .position(|forms| forms.contains(&key))
        .map(Lex::Concept)
}

/// Longest lexicon entry (up to three words) starting at token `i`.
fn lookup_at(toks: &[QTok], i: usize) -> Option<(usize, Lex)> {
    for n in (1..=3).rev() {
        let words: Option<Vec<&str>> = (i..i + n).map(|j| word_at(toks, j)).collect();
        let words = match words {
            Some(w) => w,
            None => continue,
        };
        let key = words.join(" ");
        if let Some(lex) = lookup_key(&key) {
            return Some((n, lex));
        }
        // Plurals: "buttons", "checkboxes", "search boxes".
        let last = words[n - 1];
        if last.len() > 3 && last.ends_with('s') {
            for cut in [1, 2] {
                if cut == 2 && !last.ends_with("es") {
                    continue;
                }
                let head = &key[..key.len() - cut];
                if let Some(lex) = lookup_key(head) {
                    return Some((n, lex));
                }
            }
        }
    }
    None
}

/// A concept whose single-word form is a typo of `w`.
fn fuzzy_concept(w: &QWord) -> Option<usize> {
    if w.nchars < 4 || w.digit {
        return None;
    }
    for (ci, forms) in CONCEPTS.iter().enumerate() {
        for form in forms.iter() {
            let flen = form.chars().count();
            if form.contains(' ') || flen < 4 {
                continue;
            }
            let k = if w.nchars.min(flen) >= 8 { 2 } else { 1 };
            if w.nchars.abs_diff(flen) <= k && osa(&w.text, form, k).is_some() {
                return Some(ci);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Tokens and word similarity
// ---------------------------------------------------------------------------

/// A token of the per-candidate scratch buffer.
#[derive(Debug, Clone, Copy)]
struct Tok {
    start: u32,
    end: u32,
    /// Letter-set bitmask, for cheap fuzzy rejection.
    mask: u32,
    nchars: u32,
    digit: bool,
}

fn char_bit(c: char) -> u32 {
    match c {
        'a'..='z' => 1 << (c as u32 - 'a' as u32),
        '0'..='9' => 1 << 26,
        _ => 1 << 31,
    }
}

/// Lowercases `text` into `buf` and appends one [`Tok`] per alphanumeric run.
/// Multiplication-sign style glyphs ("×") become the word "x".
/// What a name made of symbols only says in words ("›" is "next", "+" is "plus"), so "next
/// page" or "the plus button" find them; other names as they are.
fn symbol_words(name: &str) -> &str {
    let t = name.trim();
    if t.is_empty() || t.chars().any(char::is_alphanumeric) {
        return name;
    }
    match t {
        "+" | "＋" | "➕" | "⊕" => "plus add increase more",
        "-" | "−" | "–" | "➖" | "⊖" => "minus remove decrease less",
        ">" | "›" | "→" | "❯" | "⟩" | "〉" | "▶" | "►" | "⟶" | ">>" => {
            "next forward"
        }
        "<" | "‹" | "←" | "❮" | "⟨" | "〈" | "◀" | "◄" | "⟵" | "<<" => {
            "previous prev back"
        }
        "»" | "≫" | "⇥" | "⏭" | "▶▶" | "⇒" => "last next end",
        "«" | "≪" | "⇤" | "⏮" | "◀◀" | "⇐" => "first previous start",
        "×" | "✕" | "✖" | "╳" | "❌" | "⨯" => "close dismiss remove",
        "…" | "..." | "⋯" | "⋮" | "⁝" => "more options",
        "☰" | "≡" => "menu",
        "★" | "☆" | "⭐" => "star favourite",
        "♥" | "❤" | "♡" => "like heart favourite",
        "✓" | "✔" => "done check ok",
        "⚙" => "settings",
        "🔍" | "⌕" => "search",
        "↑" | "▲" | "⬆" => "up",
        "↓" | "▼" | "⬇" => "down",
        "⟳" | "↻" | "🔄" => "refresh reload",
        "🗑" => "delete trash",
        "✎" | "✏" => "edit",
        _ => name,
    }
}

fn push_tokens(buf: &mut String, toks: &mut Vec<Tok>, text: &str) {
    if text.is_ascii() {
        push_ascii_tokens(buf, toks, text);
        return;
    }
    let mut cur: Option<Tok> = None;
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            let t = cur.get_or_insert(Tok {
                start: buf.len() as u32,
                end: 0,
                mask: 0,
                nchars: 0,
                digit: false,
            });
            for l in ch.to_lowercase() {
                buf.push(l);
                t.mask |= char_bit(l);
                t.nchars += 1;
            }
            t.digit |= ch.is_numeric();
        } else {
            if let Some(mut t) = cur.take() {
                t.end = buf.len() as u32;
                toks.push(t);
            }
            if matches!(ch, '×' | '✕' | '✖' | '╳' | '⨯' | '✗' | '✘') {
                let start = buf.len() as u32;
                buf.push('x');
                toks.push(Tok {
                    start,
                    end: start + 1,
                    mask: char_bit('x'),
                    nchars: 1,
                    digit: false,
                });
            }
        }
    }
    if let Some(mut t) = cur {
        t.end = buf.len() as u32;
        toks.push(t);
    }
}

/// Fast path of [`push_tokens`] for ASCII text: copy and lowercase the whole
/// text at once, then record the alphanumeric runs.
fn push_ascii_tokens(buf: &mut String, toks: &mut Vec<Tok>, text: &str) {
    let base = buf.len();
    buf.push_str(text);
    buf[base..].make_ascii_lowercase();
    let bytes = &buf.as_bytes()[base..];
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let s = i;
        let mut mask = 0u32;
        while let Some(&b) = bytes.get(i) {
            if b.is_ascii_lowercase() {
                mask |= 1 << (b - b'a');
            } else if b.is_ascii_digit() {
                mask |= 1 << 26;
            } else {
                break;
            }
            i += 1;
        }
        toks.push(Tok {
            start: (base + s) as u32,
            end: (base + i) as u32,
            mask,
            nchars: (i - s) as u32,
            digit: mask & (1 << 26) != 0,
        });
    }
}

/// Lowercase words of `text`.
fn tokenize(text: &str) -> Vec<String> {
    let mut buf = String::new();
    let mut toks = Vec::new();
    push_tokens(&mut buf, &mut toks, text);
    toks.iter()
        .map(|t| buf[t.start as usize..t.end as usize].to_string())
        .collect()
}

/// A query word with precomputed matching data.
#[derive(Debug, Clone)]
struct QWord {
    text: String,
    /// `text` without a plural ending.
    stem: String,
    mask: u32,
    nchars: usize,
    digit: bool,
    stop: bool,
}

impl QWord {
    fn new(text: &str) -> QWord {
        QWord {
            text: text.to_string(),
            stem: stem(text).to_string(),
            mask: text.chars().fold(0, |m, c| m | char_bit(c)),
            nchars: text.chars().count(),
            digit: text.chars().any(char::is_numeric),
            stop: is_stop(text),
        }
    }
}

/// Strips a plural ending.
fn stem(w: &str) -> &str {
    if w.len() > 4
        && (w.ends_with("xes") || w.ends_with("ses") || w.ends_with("ches") || w.ends_with("shes"))
    {
        &w[..w.len() - 2]
    } else if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
        &w[..w.len() - 1]
    } else {
        w
    }
}

/// Similarity of a query word and a candidate token, in 0..=1.
fn word_sim(q: &QWord, t: &str, tok: &Tok) -> f32 {
    // Exact and stem matches share the first byte; most tokens fail here.
    if q.text.as_bytes().first() == t.as_bytes().first() {
        if q.text == t {
            return 1.0;
        }
        if q.stem == stem(t) {
            return 0.95;
        }
    }
    if q.digit || tok.digit {
        return 0.0;
    }
    let tn = tok.nchars as usize;
    let mut best = 0.0f32;
    let shorter = q.nchars.min(tn);
    let k = if shorter >= 8 {
        2
    } else if shorter >= 4 {
        1
    } else {
        0
    };
    if k > 0 && q.nchars.abs_diff(tn) <= k && (q.mask ^ tok.mask).count_ones() as usize <= 2 * k {
        if let Some(d) = osa(&q.text, t, k) {
            best = if d <= 1 { 0.75 } else { 0.6 };
        }
    }
    if q.nchars >= 3 && tn > q.nchars && t.starts_with(q.text.as_str()) {
        best = best.max(0.45 + 0.25 * q.nchars as f32 / tn as f32);
    }
    best
}

/// Optimal-string-alignment (restricted Damerau-Levenshtein) distance, if it
/// is at most `k`. Words longer than 32 chars are never fuzzy-matched.
fn osa(a: &str, b: &str, k: usize) -> Option<usize> {
    if a.is_ascii() && b.is_ascii() {
        return osa_slices(a.as_bytes(), b.as_bytes(), k);
    }
    const N: usize = 32;
    fn fill(dst: &mut [char; N], s: &str) -> Option<usize> {
        let mut n = 0;
        for c in s.chars() {
            *dst.get_mut(n)? = c;
            n += 1;
        }
        Some(n)
    }
    let mut ab = ['\0'; N];
    let mut bb = ['\0'; N];
    let la = fill(&mut ab, a)?;
    let lb = fill(&mut bb, b)?;
    osa_slices(&ab[..la], &bb[..lb], k)
}

/// [`osa`] over slices of bytes or chars.
fn osa_slices<T: Eq>(a: &[T], b: &[T], k: usize) -> Option<usize> {
    const N: usize = 32;
    let (la, lb) = (a.len(), b.len());
    if la > N || lb > N || la.abs_diff(lb) > k {
        return None;
    }
    // Skip the common prefix and suffix: they never change the distance.
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[pre..], &b[pre..]);
    let suf = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suf], &b[..b.len() - suf]);
    let (la, lb) = (a.len(), b.len());
    if la == 0 || lb == 0 {
        let d = la.max(lb);
        return (d <= k).then_some(d);
    }
    if k == 1 {
        // After trimming, one edit is left only for a single substitution,
        // insertion / deletion, or one adjacent transposition.
        let one = match (la, lb) {
            (1, 1) => true,
            (1, 0) | (0, 1) => true,
            (2, 2) => a[0] == b[1] && a[1] == b[0],
            _ => false,
        };
        return one.then_some(1);
    }
    let mut prev2 = [0u8; N + 1];
    let mut prev = [0u8; N + 1];
    let mut cur = [0u8; N + 1];
    for (j, p) in prev.iter_mut().enumerate().take(lb + 1) {
        *p = j as u8;
    }
    let k8 = k as u8;
    for i in 1..=la {
        cur[0] = i as u8;
        let mut row_min = cur[0];
        for j in 1..=lb {
            let cost = u8::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > k8 {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[lb] <= k8).then_some(usize::from(prev[lb]))
}

/// Whether `text` contains the lowercase ASCII `words` consecutively
/// (ASCII case-insensitive), without tokenizing into a buffer.
fn has_words_raw(text: &str, words: &[String]) -> bool {
    let n = words.len();
    if n == 0 || n > 3 {
        return false;
    }
    let mut window: [&str; 3] = [""; 3];
    let mut seen = 0;
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        window.rotate_left(1);
        window[2] = w;
        seen += 1;
        if seen >= n
            && window[3 - n..]
                .iter()
                .zip(words)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
        {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------
// Per-candidate scratch
// ---------------------------------------------------------------------------

/// Tokenized fields of one candidate; buffers are reused across candidates.
#[derive(Default)]
struct Scratch {
    buf: String,
    toks: Vec<Tok>,
    ranges: [(usize, usize); FIELDS],
    /// Bit `f` set once field `f` is tokenized.
    loaded: u8,
    cov: Vec<f32>,
}

impl Scratch {
    /// Starts a new candidate; fields are tokenized on demand by [`Self::ensure`].
    fn reset(&mut self) {
        self.buf.clear();
        self.toks.clear();
        self.ranges = [(0, 0); FIELDS];
        self.loaded = 0;
    }

    /// Tokenizes field `f` of `c` unless already done.
    fn ensure(&mut self, c: &Candidate, f: usize) {
        if self.loaded & (1 << f) != 0 {
            return;
        }
        self.loaded |= 1 << f;
        let a = self.toks.len();
        match f {
            NAME => push_tokens(&mut self.buf, &mut self.toks, symbol_words(&c.name)),
            DESC => push_tokens(
                &mut self.buf,
                &mut self.toks,
                c.description.as_deref().unwrap_or(""),
            ),
            VALUE => push_tokens(
                &mut self.buf,
                &mut self.toks,
                c.value.as_deref().unwrap_or(""),
            ),
            NEARBY => push_tokens(&mut self.buf, &mut self.toks, &c.nearby),
            _ => {
                debug_assert_eq!(f, CTX);
                for e in &c.context {
                    push_tokens(&mut self.buf, &mut self.toks, e);
                }
            }
        }
        self.ranges[f] = (a, self.toks.len());
    }

    fn ensure_all(&mut self, c: &Candidate) {
        for f in 0..FIELDS {
            self.ensure(c, f);
        }
    }

    /// The field acting as the element's label: name, else placeholder /
    /// description, else nearby text. Tokenizes what it inspects.
    fn label(&mut self, c: &Candidate) -> usize {
        for f in [NAME, DESC] {
            self.ensure(c, f);
            if !self.is_empty(f) {
                return f;
            }
        }
        self.ensure(c, NEARBY);
        NEARBY
    }

    fn text(&self, j: usize) -> &str {
        let t = &self.toks[j];
        &self.buf[t.start as usize..t.end as usize]
    }

    fn is_empty(&self, f: usize) -> bool {
        self.ranges[f].0 == self.ranges[f].1
    }

    /// Whether token `j` is exactly `w`; checks length and first byte
    /// before comparing the rest.
    fn tok_eq(&self, j: usize, w: &str) -> bool {
        let t = &self.toks[j];
        let (s, e) = (t.start as usize, t.end as usize);
        let bytes = self.buf.as_bytes();
        e - s == w.len() && (s == e || bytes[s] == w.as_bytes()[0]) && &bytes[s..e] == w.as_bytes()
    }

    fn seq_at(&self, j: usize, end: usize, words: &[String]) -> bool {
        j + words.len() <= end && words.iter().enumerate().all(|(k, w)| self.tok_eq(j + k, w))
    }

    fn has_seq(&self, f: usize, words: &[String]) -> bool {
        let (a, b) = self.ranges[f];
        !words.is_empty() && (a..b).any(|j| self.seq_at(j, b, words))
    }

    fn has_any_form(&self, f: usize, forms: &[Vec<String>]) -> bool {
        forms.iter().any(|form| self.has_seq(f, form))
    }

    /// Whether field `f` contains `w` exactly or as a plural.
    fn has_word(&self, f: usize, w: &QWord) -> bool {
        let (a, b) = self.ranges[f];
        (a..b).any(|j| word_sim(w, self.text(j), &self.toks[j]) >= 0.95)
    }
}

// ---------------------------------------------------------------------------
// Query
// ---------------------------------------------------------------------------

/// Query tokens before lexicon analysis.
#[derive(Debug)]
enum QTok {
    Word(String),
    Phrase(Vec<String>),
}

fn word_at(toks: &[QTok], i: usize) -> Option<&str> {
    match toks.get(i) {
        Some(QTok::Word(w)) => Some(w.as_str()),
        _ => None,
    }
}

/// Splits the query into words and quoted phrases.
fn split_query(q: &str) -> Vec<QTok> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some(close) = quote_close(&chars, i) {
            let inner: String = chars[i + 1..close].iter().collect();
            let words = tokenize(&inner);
            if !words.is_empty() {
                out.extend(tokenize(&plain).into_iter().map(QTok::Word));
                plain.clear();
                out.push(QTok::Phrase(words));
                i = close + 1;
                continue;
            }
        }
        plain.push(chars[i]);
        i += 1;
    }
    out.extend(tokenize(&plain).into_iter().map(QTok::Word));
    out
}

/// If `chars[i]` opens a quotation, the index of its closing quote.
fn quote_close(chars: &[char], i: usize) -> Option<usize> {
    let prev_alnum = i > 0 && chars[i - 1].is_alphanumeric();
    let (closers, single): (&[char], bool) = match chars[i] {
        '"' => (&['"'], false),
        '“' | '„' => (&['”', '"', '“'], false),
        '«' => (&['»'], false),
        '\'' | '‘' if !prev_alnum => (&['\'', '’'], true),
        _ => return None,
    };
    (i + 1..chars.len()).find(|&j| {
        closers.contains(&chars[j])
            && !(single && chars.get(j + 1).is_some_and(|c| c.is_alphanumeric()))
    })
}

/// Drops leading filler and verbs while something meaningful follows.
fn strip_leading(mut toks: Vec<QTok>) -> Vec<QTok> {
    while let Some(QTok::Word(w)) = toks.first() {
        let rest_meaningful = toks[1..].iter().any(|t| match t {
            QTok::Phrase(_) => true,
            QTok::Word(x) => !is_stop(x),
        });
        if !rest_meaningful {
            break;
        }
        let next = word_at(&toks, 1);
        let strip = if is_stop(w) {
            true
        } else if is_leading_verb(w) {
            let compound = matches!(lookup_at(&toks, 0), Some((n, _)) if n > 1);
            !compound && (w != "go" || matches!(next, Some("to" | "into")))
        } else {
            false
        };
        if !strip {
            break;
        }
        toks.remove(0);
    }
    toks
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A word describing the element itself.
    Head,
    /// A word after a preposition, describing its surroundings.
    Qualifier,
    /// A quoted phrase that must appear in the label.
    Phrase,
}

/// A unit of text to match: one word, a multi-word lexicon entry or a phrase.
#[derive(Debug)]
struct Term {
    words: Vec<QWord>,
    texts: Vec<String>,
    forms: Vec<Vec<String>>,
    concept_score: f32,
    kind: Kind,
}

impl Term {
    fn new(words: &[String], concept: Option<(usize, f32)>, kind: Kind) -> Term {
        let forms = concept.map_or_else(Vec::new, |(ci, _)| {
            CONCEPTS[ci]
                .iter()
                .map(|f| f.split(' ').map(str::to_string).collect())
                .collect()
        });
        Term {
            words: words.iter().map(|w| QWord::new(w)).collect(),
            texts: words.to_vec(),
            forms,
            concept_score: concept.map_or(0.0, |(_, s)| s),
            kind,
        }
    }

    fn weight(&self) -> f32 {
        match self.kind {
            Kind::Head => 1.0,
            Kind::Qualifier => 0.6,
            Kind::Phrase => 1.5,
        }
    }
}

/// How much a match in field `f` counts for a term of `kind`.
fn field_weight(kind: Kind, f: usize, name_empty: bool) -> f32 {
    match (kind, f) {
        (Kind::Head, NAME) => 1.0,
        (Kind::Head, DESC) => 0.85,
        (Kind::Head, VALUE) => 0.6,
        (Kind::Head, NEARBY) => {
            if name_empty {
                0.9
            } else {
                0.7
            }
        }
        (Kind::Head, _) => 0.45,
        (Kind::Qualifier, NAME) => 0.7,
        (Kind::Qualifier, DESC) => 0.8,
        (Kind::Qualifier, VALUE) => 0.5,
        (Kind::Qualifier, _) => 1.0,
        (Kind::Phrase, NAME) => 1.0,
        (Kind::Phrase, DESC) => 0.85,
        (Kind::Phrase, VALUE) => 0.7,
        (Kind::Phrase, NEARBY) => {
            if name_empty {
                0.9
            } else {
                0.6
            }
        }
        (Kind::Phrase, _) => 0.4,
    }
}

/// A role word of the query.
#[derive(Debug)]
struct Mention {
    intent: Intent,
    surface: Vec<String>,
    /// Appeared after a preposition ("in the header").
    prep: bool,
}

/// The role the query asks for.
#[derive(Debug)]
struct Target {
    intent: Intent,
    surface: Vec<String>,
    /// A word of the role phrase that elements often carry in their name.
    nameable: Option<QWord>,
}

/// A parsed query.
#[derive(Debug)]
struct Query {
    terms: Vec<Term>,
    target: Option<Target>,
    constraints: Vec<Mention>,
    ordinal: Option<Ordinal>,
    /// Every meaningful query word, for label coverage.
    cover: Vec<QWord>,
    /// Forms of the search concept (for the search-box intent).
    search_forms: Vec<Vec<String>>,
}

impl Query {
    fn parse(query: &str) -> Option<Query> {
        let toks = strip_leading(split_query(query));
        let mut terms: Vec<Term> = Vec::new();
        let mut mentions: Vec<Mention> = Vec::new();
        let mut ordinal = None;
        let mut ordinal_words: Vec<String> = Vec::new();
        let mut qualifier = false;
        let kind = |q: bool| if q { Kind::Qualifier } else { Kind::Head };
        let mut i = 0;
        while i < toks.len() {
            let w = match &toks[i] {
                QTok::Phrase(ws) => {
                    let k = if qualifier {
                        Kind::Qualifier
                    } else {
                        Kind::Phrase
                    };
                    terms.push(Term::new(ws, None, k));
                    i += 1;
                    continue;
                }
                QTok::Word(w) => w.as_str(),
            };
            let next = word_at(&toks, i + 1);
            let next2 = word_at(&toks, i + 2);
            if w == "next" && next == Some("to") {
                if next2 == Some("last") {
                    ordinal = Some(Ordinal::FromEnd(2));
                    i += 3;
                } else {
                    qualifier = true;
                    i += 2;
                }
                continue;
            }
            if let Some((n, lex)) = lookup_at(&toks, i) {
                let words: Vec<String> = (i..i + n)
                    .filter_map(|j| word_at(&toks, j))
                    .map(str::to_string)
                    .collect();
                match lex {
                    Lex::Role(intent) => mentions.push(Mention {
                        intent,
                        surface: words,
                        prep: qualifier,
                    }),
                    Lex::Concept(ci) => {
                        terms.push(Term::new(&words, Some((ci, 0.85)), kind(qualifier)))
                    }
                }
                i += n;
                continue;
            }
            if let Some(o) = ordinal_of(w) {
                // "last page", "first page": pager links (« »), not an ordinal.
                if next != Some("name") && next != Some("page") {
                    if let Ordinal::FromStart(n) = o {
                        if next == Some("last") {
                            ordinal = Some(Ordinal::FromEnd(n));
                            i += 2;
                            continue;
                        }
                        if next == Some("to") && next2 == Some("last") {
                            ordinal = Some(Ordinal::FromEnd(n));
                            i += 3;
                            continue;
                        }
                    }
                    ordinal = Some(o);
                    ordinal_words.push(w.to_string());
                    i += 1;
                    continue;
                }
            }
            if is_preposition(w) {
                qualifier = true;
                i += 1;
                continue;
            }
            if is_stop(w) {
                i += 1;
                continue;
            }
            let qw = QWord::new(w);
            let concept = fuzzy_concept(&qw).map(|ci| (ci, 0.65));
            terms.push(Term::new(&[w.to_string()], concept, kind(qualifier)));
            i += 1;
        }

        if terms.is_empty() && mentions.is_empty() {
            if ordinal_words.is_empty() {
                return None;
            }
            // A lone "first" / "last" is more likely a name than an ordinal.
            for w in ordinal_words.drain(..) {
                terms.push(Term::new(&[w], None, Kind::Head));
            }
            ordinal = None;
        }

        let has_head = terms.iter().any(|t| t.kind != Kind::Qualifier);
        let target_idx = mentions
            .iter()
            .rposition(|m| !m.prep)
            .or_else(|| (!has_head).then(|| mentions.len().checked_sub(1)).flatten());
        let target = target_idx.map(|ti| {
            let m = mentions.remove(ti);
            let nameable = m
                .surface
                .iter()
                .find(|w| NAMEABLE.contains(&w.as_str()))
                .map(|w| QWord::new(w));
            Target {
                intent: m.intent,
                surface: m.surface,
                nameable,
            }
        });

        let mut cover: Vec<QWord> = Vec::new();
        let mut add_cover = |w: &QWord| {
            if !w.stop && !cover.iter().any(|c| c.text == w.text) {
                cover.push(w.clone());
            }
        };
        for t in &terms {
            t.words.iter().for_each(&mut add_cover);
        }
        let surfaces = target
            .iter()
            .map(|t| &t.surface)
            .chain(mentions.iter().map(|m| &m.surface));
        for s in surfaces {
            for w in s {
                add_cover(&QWord::new(w));
            }
        }

        let search_forms = CONCEPTS[SEARCH_CONCEPT]
            .iter()
            .map(|f| f.split(' ').map(str::to_string).collect())
            .collect();
        Some(Query {
            terms,
            target,
            constraints: mentions,
            ordinal,
            cover,
            search_forms,
        })
    }

    /// How well term `t` matches field `f` of the loaded candidate, 0..=1.
    fn match_field(t: &Term, s: &Scratch, f: usize) -> f32 {
        let (a, b) = s.ranges[f];
        if a == b {
            return 0.0;
        }
        if t.words.len() == 1 && t.kind != Kind::Phrase {
            let w = &t.words[0];
            let mut best = 0.0f32;
            for j in a..b {
                best = best.max(word_sim(w, s.text(j), &s.toks[j]));
                if best >= 1.0 {
                    return 1.0;
                }
            }
            if best < t.concept_score && s.has_any_form(f, &t.forms) {
                best = t.concept_score;
            }
            return best;
        }
        if s.has_seq(f, &t.texts) {
            return 1.0;
        }
        let mut best = 0.0f32;
        if !t.forms.is_empty() && s.has_any_form(f, &t.forms) {
            best = t.concept_score;
        }
        if t.kind == Kind::Phrase {
            // Every word in order, each exact or fuzzy.
            let n = t.words.len();
            if b - a >= n {
                for j in a..=b - n {
                    let mut sum = 0.0;
                    let all = t.words.iter().enumerate().all(|(k, w)| {
                        let sim = word_sim(w, s.text(j + k), &s.toks[j + k]);
                        sum += sim;
                        sim >= 0.6
                    });
                    if all {
                        best = best.max(0.9 * sum / n as f32);
                    }
                }
            }
        } else {
            let mut sum = 0.0;
            let mut cnt = 0;
            for w in t.words.iter().filter(|w| !w.stop) {
                cnt += 1;
                sum += (a..b)
                    .map(|j| word_sim(w, s.text(j), &s.toks[j]))
                    .fold(0.0f32, f32::max);
            }
            if cnt > 0 {
                best = best.max(0.4 * sum / cnt as f32);
            }
        }
        best
    }

    /// Fraction of the label's meaningful tokens that query words account for.
    fn coverage(&self, s: &mut Scratch, f: usize) -> f32 {
        let (a, b) = s.ranges[f];
        if a == b {
            return 0.0;
        }
        let mut cov = std::mem::take(&mut s.cov);
        cov.clear();
        cov.resize(b - a, 0.0);
        for t in self.terms.iter().filter(|t| !t.forms.is_empty()) {
            for form in &t.forms {
                for j in a..b {
                    if s.seq_at(j, b, form) {
                        for c in &mut cov[j - a..j - a + form.len()] {
                            *c = c.max(t.concept_score);
                        }
                    }
                }
            }
        }
        let (mut sum, mut n, mut sum_all) = (0.0f32, 0usize, 0.0f32);
        for (k, c) in cov.iter_mut().enumerate() {
            let j = a + k;
            let text = s.text(j);
            for w in &self.cover {
                if *c >= 1.0 {
                    break;
                }
                *c = c.max(word_sim(w, text, &s.toks[j]));
            }
            sum_all += *c;
            if !is_stop(text) {
                sum += *c;
                n += 1;
            }
        }
        let total = b - a;
        s.cov = cov;
        if n > 0 {
            sum / n as f32
        } else {
            sum_all / total as f32
        }
    }

    /// Whether a constraint holds: an ancestor has the role, or (for
    /// modifiers) the label carries the role word.
    fn constraint_score(m: &Mention, c: &Candidate, s: &Scratch, label: usize) -> f32 {
        let ancestor = c.context.iter().any(|e| {
            let role = e.split_whitespace().next().unwrap_or("");
            role_score(m.intent, role) >= 0.9
        });
        if ancestor {
            return 1.0;
        }
        if c.context.iter().any(|e| has_words_raw(e, &m.surface))
            || (!m.prep && s.has_seq(label, &m.surface))
        {
            return 0.8;
        }
        0.0
    }

    /// Score of one candidate in 0..=1, and whether its role is a primary
    /// match for the target role.
    fn score(&self, c: &Candidate, s: &mut Scratch) -> (f32, bool) {
        s.reset();
        if !self.terms.is_empty() {
            s.ensure_all(c);
        }
        let label = s.label(c);
        let name_empty = s.is_empty(NAME);
        let mut raw = 0.0f32;
        let mut max = 0.0f32;

        // Text match.
        let (mut num, mut den) = (0.0f32, 0.0f32);
        let mut phrase_missing = false;
        for t in &self.terms {
            let mut m = [0.0f32; FIELDS];
            let mut best = 0.0f32;
            for (f, mf) in m.iter_mut().enumerate() {
                let w = field_weight(t.kind, f, name_empty);
                if w > best || (t.kind == Kind::Phrase && matches!(f, NAME | DESC | NEARBY)) {
                    *mf = Self::match_field(t, s, f);
                    best = best.max(w * *mf);
                }
            }
            if t.kind == Kind::Phrase {
                let nearby = if name_empty { 0.9 * m[NEARBY] } else { 0.0 };
                if m[NAME].max(0.85 * m[DESC]).max(nearby) < 0.5 {
                    phrase_missing = true;
                }
            }
            num += t.weight() * best;
            den += t.weight();
        }
        let has_text = den > 0.0;
        if has_text {
            let tm = num / den;
            let e = if tm > 0.0 {
                self.coverage(s, label)
            } else {
                0.0
            };
            raw += tm * (0.7 + 0.3 * e);
            max += 1.0;
        }

        // Role match.
        let mut primary = false;
        if let Some(tg) = &self.target {
            let mut r = if tg.intent == Intent::Hit {
                if c.item > 0 {
                    1.0
                } else {
                    0.0
                }
            } else {
                role_score(tg.intent, &c.role)
            };
            if tg.intent == Intent::Search
                && r < 0.95
                && (c.role.eq_ignore_ascii_case("textbox")
                    || c.role.eq_ignore_ascii_case("combobox"))
            {
                let searchy = [NAME, DESC, NEARBY].iter().any(|&f| {
                    s.ensure(c, f);
                    s.has_any_form(f, &self.search_forms)
                });
                if searchy {
                    r = 0.95;
                }
            }
            primary = r >= 0.9;
            if r < 0.75 && s.has_seq(label, &tg.surface) {
                r = 0.75;
            }
            let w = if has_text { 0.5 } else { 1.0 };
            raw += w * r;
            max += w;
            if let Some(nw) = &tg.nameable {
                s.ensure(c, DESC);
                if s.has_word(label, nw) || s.has_word(DESC, nw) {
                    raw += 0.1;
                }
                max += 0.1;
            }
        }

        // Context constraints.
        for m in &self.constraints {
            let w = if m.prep { 0.2 } else { 0.35 };
            raw += w * Self::constraint_score(m, c, s, label);
            max += w;
        }

        // Interactivity prior.
        let action = self.target.as_ref().is_none_or(|t| t.intent.is_action());
        if action {
            max += 0.05;
            if c.interactive {
                raw += 0.05;
            }
        }

        let mut score = if max > 0.0 { raw / max } else { 0.0 };
        if action && is_texty(&c.role) {
            score *= 0.85;
        }
        if phrase_missing {
            score *= 0.3;
        }
        (score.clamp(0.0, 1.0), primary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_control(role: &str) -> bool {
        matches!(
            role,
            "button"
                | "link"
                | "textbox"
                | "searchbox"
                | "combobox"
                | "listbox"
                | "checkbox"
                | "radio"
                | "slider"
                | "spinbutton"
                | "switch"
                | "tab"
                | "menuitem"
                | "option"
        )
    }

    /// A candidate with a role and a name; interactive for control roles.
    fn c(role: &str, name: &str) -> Candidate {
        Candidate {
            role: role.to_string(),
            name: name.to_string(),
            interactive: is_control(role),
            ..Default::default()
        }
    }

    fn ctx(mut cand: Candidate, context: &[&str]) -> Candidate {
        cand.context = context.iter().map(|s| s.to_string()).collect();
        cand
    }

    fn near(mut cand: Candidate, nearby: &str) -> Candidate {
        cand.nearby = nearby.to_string();
        cand
    }

    fn desc(mut cand: Candidate, d: &str) -> Candidate {
        cand.description = Some(d.to_string());
        cand
    }

    /// Assigns document order = position.
    fn page(mut cands: Vec<Candidate>) -> Vec<Candidate> {
        for (i, cand) in cands.iter_mut().enumerate() {
            cand.order = i;
        }
        cands
    }

    fn top(query: &str, cands: &[Candidate]) -> Option<usize> {
        rank(query, cands).first().map(|&(i, _)| i)
    }

    fn ids(query: &str, cands: &[Candidate]) -> Vec<usize> {
        rank(query, cands).into_iter().map(|(i, _)| i).collect()
    }

    fn score_of(query: &str, cands: &[Candidate], idx: usize) -> Option<f32> {
        rank(query, cands)
            .into_iter()
            .find(|&(i, _)| i == idx)
            .map(|(_, s)| s)
    }

    fn login_page() -> Vec<Candidate> {
        page(vec![
            ctx(c("link", "Home"), &["banner", "navigation Main menu"]),
            ctx(c("link", "Sign up"), &["banner", "navigation Main menu"]),
            ctx(c("heading", "Welcome back"), &["main"]),
            ctx(c("textbox", "Email address"), &["main", "form Log in"]),
            ctx(c("textbox", "Password"), &["main", "form Log in"]),
            ctx(c("link", "Forgot password?"), &["main", "form Log in"]),
            ctx(c("checkbox", "Remember me"), &["main", "form Log in"]),
            ctx(c("button", "Log in"), &["main", "form Log in"]),
            ctx(c("paragraph", "Log in to see your orders"), &["main"]),
            ctx(c("link", "Privacy"), &["contentinfo"]),
        ])
    }

    #[test]
    fn empty_query_returns_nothing() {
        let p = login_page();
        assert!(rank("", &p).is_empty());
        assert!(rank("   \t\n ", &p).is_empty());
        assert!(rank("?!", &p).is_empty());
    }

    #[test]
    fn stop_words_only_returns_nothing() {
        assert!(rank("the a of this", &login_page()).is_empty());
        assert!(rank("please click on the", &login_page()).is_empty());
    }

    #[test]
    fn stop_words_plus_role_matches_by_role() {
        let p = login_page();
        assert_eq!(ids("the button", &p), vec![7]);
        let checks = ids("please click the checkbox", &p);
        assert_eq!(checks, vec![6]);
    }

    #[test]
    fn empty_candidates() {
        assert!(rank("submit button", &[]).is_empty());
    }

    #[test]
    fn search_box_prefers_textbox_over_button() {
        let p = page(vec![c("button", "Search"), c("textbox", "Search")]);
        assert_eq!(top("search box", &p), Some(1));
        let r = rank("search box", &p);
        assert!(
            r.iter().all(|&(i, _)| i != 0),
            "button should not match: {r:?}"
        );
    }

    #[test]
    fn search_box_in_header_prefers_banner() {
        let p = page(vec![
            ctx(c("textbox", "Search"), &["main", "form Filters"]),
            ctx(c("searchbox", "Search"), &["banner"]),
            ctx(c("button", "Search"), &["banner"]),
        ]);
        assert_eq!(top("search box in the header", &p), Some(1));
        let p2 = page(vec![
            ctx(c("textbox", "Search"), &["main"]),
            ctx(c("textbox", "Search"), &["banner", "search"]),
        ]);
        assert_eq!(top("the search box in the header", &p2), Some(1));
        assert_eq!(top("header search bar", &p2), Some(1));
    }

    #[test]
    fn search_box_via_placeholder() {
        let p = page(vec![
            c("textbox", "Email"),
            desc(c("textbox", ""), "Search products"),
            c("button", "Go"),
        ]);
        assert_eq!(top("searchbar", &p), Some(1));
        assert_eq!(top("search field", &p), Some(1));
    }

    #[test]
    fn email_field() {
        let p = login_page();
        assert_eq!(top("email field", &p), Some(3));
        assert_eq!(top("email", &p), Some(3));
        assert_eq!(top("Enter your e-mail", &p), Some(3));
    }

    #[test]
    fn email_synonym_matches_e_mail() {
        let p = page(vec![
            c("textbox", "Name"),
            c("textbox", "E-mail"),
            c("button", "Send"),
        ]);
        assert_eq!(top("email input", &p), Some(1));
        assert_eq!(top("mail", &p), Some(1));
    }

    #[test]
    fn typo_emial_finds_email() {
        let p = page(vec![
            c("textbox", "Name"),
            c("textbox", "Email"),
            c("button", "Submit"),
        ]);
        assert_eq!(top("emial", &p), Some(1));
        assert_eq!(ids("emial", &p), vec![1]);
        // A typo scores lower than the exact word.
        let exact = score_of("email", &p, 1).unwrap();
        let typo = score_of("emial", &p, 1).unwrap();
        assert!(typo < exact, "{typo} < {exact}");
    }

    #[test]
    fn typo_distance_two_for_long_words() {
        let p = page(vec![
            c("checkbox", "Email notifications"),
            c("checkbox", "Dark mode"),
        ]);
        assert_eq!(top("notifcaton checkbox", &p), Some(0));
        // Short words are not fuzzy-matched: "cat" is not "car".
        let q = page(vec![c("button", "Car")]);
        assert!(rank("cat", &q).is_empty());
        // 4-letter words need both sides long enough: "cart" is not "car".
        assert!(rank("cart", &q).is_empty());
    }

    #[test]
    fn prefix_matches_partially() {
        let p = page(vec![c("link", "Help"), c("textbox", "Password")]);
        let r = rank("pass", &p);
        assert_eq!(r.first().map(|x| x.0), Some(1));
        assert!(r[0].1 < score_of("password", &p, 1).unwrap());
    }

    #[test]
    fn submit_button_prefers_submit_synonym() {
        let p = page(vec![
            c("button", "Cancel"),
            c("link", "Terms"),
            c("button", "Continue"),
        ]);
        assert_eq!(top("submit button", &p), Some(2));
        // The other button still ranks by role; the link does not.
        assert_eq!(ids("submit button", &p), vec![2, 0]);
    }

    #[test]
    fn submit_button_without_synonym_ranks_buttons_by_role() {
        let p = page(vec![
            c("link", "Home"),
            c("button", "Create account"),
            c("textbox", "Email"),
            c("button", "Cancel"),
        ]);
        assert_eq!(ids("submit button", &p), vec![1, 3]);
    }

    #[test]
    fn exact_word_beats_synonym() {
        let p = page(vec![c("button", "Send"), c("button", "Submit")]);
        assert_eq!(ids("submit", &p), vec![1, 0]);
        let s_exact = score_of("submit", &p, 1).unwrap();
        let s_syn = score_of("submit", &p, 0).unwrap();
        assert!(s_exact > s_syn);
    }

    #[test]
    fn sign_in_finds_log_in() {
        let p = login_page();
        assert_eq!(top("sign in", &p), Some(7));
        assert_eq!(top("sign in button", &p), Some(7));
        assert_eq!(top("login", &p), Some(7));
        let p2 = page(vec![c("link", "Register"), c("link", "Sign in")]);
        assert_eq!(top("log in link", &p2), Some(1));
        assert_eq!(top("sign up", &p2), Some(0));
    }

    #[test]
    fn quoted_phrase_with_nearby_qualifier() {
        let p = page(vec![
            near(c("link", "Red shirt"), "Red shirt $20"),
            near(c("button", "Add to cart"), "Red shirt $20"),
            near(c("link", "Blue shirt"), "Blue shirt $25"),
            near(c("button", "Add to wishlist"), "Blue shirt $25"),
            near(c("button", "Add to cart"), "Blue shirt $25"),
        ]);
        let r = rank("\"Add to cart\" button for the Blue shirt", &p);
        assert_eq!(r[0].0, 4, "{r:?}");
        assert_eq!(r[1].0, 1, "{r:?}");
        // Candidates without the phrase drop far (here: out of the result).
        assert!(r.iter().all(|&(i, _)| i != 3 && i != 2), "{r:?}");
        // Curly quotes work too.
        assert_eq!(top("“Add to cart” for blue shirt", &p), Some(4));
        // Unquoted works as well.
        assert_eq!(top("add to cart button for the blue shirt", &p), Some(4));
    }

    #[test]
    fn quoted_phrase_drops_non_matching() {
        let p = page(vec![
            c("button", "Save"),
            c("button", "Save draft"),
            c("button", "Save and publish"),
        ]);
        let r = rank("'save draft' button", &p);
        assert_eq!(r[0].0, 1);
        for &(i, s) in &r[1..] {
            assert!(s < r[0].1 * 0.5, "{i} scored {s}");
        }
        // Apostrophes inside words are not quotes.
        assert_eq!(top("user's save draft button", &p), Some(1));
    }

    #[test]
    fn exact_name_equality_is_strongest() {
        let p = page(vec![
            c("button", "Save draft"),
            c("button", "Save"),
            c("button", "Save and close"),
        ]);
        assert_eq!(ids("save", &p)[0], 1);
        let r = rank("save", &p);
        assert!(r[0].1 > r[1].1);
    }

    #[test]
    fn second_checkbox() {
        let p = page(vec![
            c("heading", "Preferences"),
            c("checkbox", "Newsletter"),
            c("link", "More"),
            c("checkbox", "Product updates"),
            c("checkbox", "Partner offers"),
        ]);
        assert_eq!(top("second checkbox", &p), Some(3));
        assert_eq!(top("2nd checkbox", &p), Some(3));
        assert_eq!(top("first checkbox", &p), Some(1));
        assert_eq!(top("third check box", &p), Some(4));
        assert_eq!(top("last checkbox", &p), Some(4));
        assert_eq!(top("second to last checkbox", &p), Some(3));
        assert_eq!(top("second-last checkbox", &p), Some(3));
    }

    #[test]
    fn ordinal_uses_document_order_not_slice_order() {
        let mut p = vec![c("checkbox", "C"), c("checkbox", "A"), c("checkbox", "B")];
        p[0].order = 30;
        p[1].order = 10;
        p[2].order = 20;
        assert_eq!(top("first checkbox", &p), Some(1));
        assert_eq!(top("second checkbox", &p), Some(2));
        assert_eq!(top("last checkbox", &p), Some(0));
    }

    #[test]
    fn ordinal_out_of_range_is_ignored() {
        let p = page(vec![c("checkbox", "A"), c("checkbox", "B")]);
        assert_eq!(top("fifth checkbox", &p), Some(0));
        assert_eq!(ids("fifth checkbox", &p).len(), 2);
    }

    #[test]
    fn last_link() {
        let p = page(vec![
            c("link", "Home"),
            c("button", "Menu"),
            c("link", "About"),
            c("link", "Contact"),
            c("paragraph", "© 2024"),
        ]);
        assert_eq!(top("last link", &p), Some(3));
        assert_eq!(top("the final link", &p), Some(3));
        assert_eq!(top("first link", &p), Some(0));
    }

    #[test]
    fn ordinal_among_same_named_buttons() {
        let p = page(vec![
            near(c("button", "Add to cart"), "Red shirt"),
            c("link", "Details"),
            near(c("button", "Add to cart"), "Blue shirt"),
            near(c("button", "Add to cart"), "Green shirt"),
        ]);
        assert_eq!(top("second add to cart button", &p), Some(2));
        assert_eq!(top("last \"Add to cart\"", &p), Some(3));
    }

    #[test]
    fn first_name_is_not_an_ordinal() {
        let p = page(vec![
            c("textbox", "Last name"),
            c("textbox", "First name"),
            c("textbox", "Email"),
        ]);
        assert_eq!(top("first name field", &p), Some(1));
        assert_eq!(top("last name", &p), Some(0));
        // A lone ordinal falls back to a name match.
        let q = page(vec![c("button", "Next"), c("button", "Last")]);
        assert_eq!(top("last", &q), Some(1));
    }

    #[test]
    fn country_dropdown() {
        let p = page(vec![
            c("textbox", "City"),
            c("combobox", "Language"),
            c("combobox", "Country"),
            c("textbox", "Country code"),
        ]);
        assert_eq!(top("country dropdown", &p), Some(2));
        assert_eq!(top("Country drop-down", &p), Some(2));
        assert_eq!(top("select country", &p), Some(2));
        assert_eq!(top("the country select box", &p), Some(2));
    }

    #[test]
    fn password_prefers_textbox_over_forgot_link() {
        let p = login_page();
        let r = rank("password", &p);
        assert_eq!(r[0].0, 4);
        assert_eq!(r[1].0, 5);
        assert_eq!(top("forgot password link", &p), Some(5));
        assert_eq!(top("pwd", &p), Some(4));
    }

    #[test]
    fn heading_returns_headings() {
        let p = page(vec![
            c("heading", "Shop"),
            c("link", "Shoes"),
            c("paragraph", "Great shoes."),
            c("heading", "Sale"),
        ]);
        assert_eq!(ids("heading", &p), vec![0, 3]);
        assert_eq!(ids("headings", &p), vec![0, 3]);
        assert_eq!(top("sale title", &p), Some(3));
        assert_eq!(top("second heading", &p), Some(3));
    }

    #[test]
    fn next_page_link() {
        let p = page(vec![
            ctx(c("link", "Previous"), &["navigation Pagination"]),
            ctx(c("link", "1"), &["navigation Pagination"]),
            ctx(c("link", "2"), &["navigation Pagination"]),
            ctx(c("link", "Next"), &["navigation Pagination"]),
            c("button", "Next"),
        ]);
        assert_eq!(top("Next page link", &p), Some(3));
        assert_eq!(top("next link", &p), Some(3));
        assert_eq!(top("previous page", &p), Some(0));
    }

    #[test]
    fn unrelated_query_returns_nothing() {
        let p = login_page();
        assert!(rank("banana", &p).is_empty());
        assert!(rank("quarterly revenue chart", &p).is_empty());
    }

    #[test]
    fn nearby_label_for_unnamed_input() {
        let p = page(vec![
            near(c("textbox", ""), "Full name"),
            near(c("textbox", ""), "Phone number"),
            near(c("textbox", ""), "Email"),
        ]);
        assert_eq!(top("phone field", &p), Some(1));
        assert_eq!(top("telephone", &p), Some(1));
        assert_eq!(top("mobile number input", &p), Some(1));
    }

    #[test]
    fn close_button_matches_multiplication_sign() {
        let p = page(vec![
            ctx(c("heading", "Newsletter"), &["dialog Newsletter"]),
            ctx(c("button", "Subscribe"), &["dialog Newsletter"]),
            ctx(c("button", "×"), &["dialog Newsletter"]),
        ]);
        assert_eq!(top("close button", &p), Some(2));
        assert_eq!(top("dismiss the popup", &p), Some(2));
        assert_eq!(top("x", &p), Some(2));
    }

    #[test]
    fn close_button_in_dialog_prefers_dialog_context() {
        let p = page(vec![
            ctx(c("button", "Close"), &["banner"]),
            ctx(c("button", "Close"), &["dialog Cookie settings"]),
        ]);
        assert_eq!(top("close button in the modal", &p), Some(1));
        assert_eq!(top("close button in the dialog", &p), Some(1));
    }

    #[test]
    fn delete_and_cart_synonyms() {
        let p = page(vec![
            c("button", "Edit"),
            c("button", "Delete"),
            ctx(c("link", "Basket (2)"), &["banner"]),
        ]);
        assert_eq!(top("remove button", &p), Some(1));
        assert_eq!(top("trash", &p), Some(1));
        assert_eq!(top("cart", &p), Some(2));
        assert_eq!(top("shopping cart link", &p), Some(2));
    }

    #[test]
    fn username_synonyms() {
        let p = page(vec![c("textbox", "Username"), c("textbox", "Password")]);
        assert_eq!(top("user name field", &p), Some(0));
        assert_eq!(top("login name", &p), Some(0));
    }

    #[test]
    fn context_form_name() {
        let p = page(vec![
            ctx(c("button", "Submit"), &["main", "form Log in"]),
            ctx(c("button", "Submit"), &["main", "form Sign up"]),
        ]);
        assert_eq!(top("submit button in the sign up form", &p), Some(1));
        assert_eq!(top("submit button in the login form", &p), Some(0));
        assert_eq!(top("register form submit", &p), Some(1));
    }

    #[test]
    fn navigation_context() {
        let p = page(vec![
            ctx(c("link", "About"), &["main"]),
            ctx(c("link", "About"), &["navigation Main menu"]),
            ctx(c("link", "About"), &["contentinfo"]),
        ]);
        assert_eq!(top("about link in the nav", &p), Some(1));
        assert_eq!(top("footer about link", &p), Some(2));
        assert_eq!(top("about link in the footer", &p), Some(2));
    }

    #[test]
    fn text_nodes_rank_below_controls() {
        let p = page(vec![
            c("paragraph", "Subscribe"),
            c("generic", "Subscribe"),
            c("button", "Subscribe"),
        ]);
        assert_eq!(top("subscribe", &p), Some(2));
        let r = rank("subscribe", &p);
        assert!(r[0].1 > r[1].1);
    }

    #[test]
    fn text_query_prefers_text() {
        let p = page(vec![
            c("button", "Shipping options"),
            c("paragraph", "Shipping is free over $50"),
        ]);
        assert_eq!(top("paragraph about shipping", &p), Some(1));
        assert_eq!(top("shipping text", &p), Some(1));
    }

    #[test]
    fn toggle_and_checkbox() {
        let p = page(vec![
            c("checkbox", "Remember me"),
            c("switch", "Dark mode"),
            c("button", "Save"),
        ]);
        assert_eq!(top("dark mode toggle", &p), Some(1));
        assert_eq!(top("remember me tick box", &p), Some(0));
        assert_eq!(top("toggle", &p), Some(1));
        assert_eq!(top("check the remember me box", &p), Some(0));
    }

    #[test]
    fn radio_slider_tab() {
        let p = page(vec![
            c("radio", "Standard shipping"),
            c("radio", "Express shipping"),
            c("slider", "Volume"),
            c("tab", "Pricing"),
            c("tab", "Features"),
        ]);
        assert_eq!(top("express shipping radio button", &p), Some(1));
        assert_eq!(top("express option button", &p), Some(1));
        assert_eq!(top("volume slider", &p), Some(2));
        assert_eq!(top("range", &p), Some(2));
        assert_eq!(top("pricing tab", &p), Some(3));
        assert_eq!(top("second tab", &p), Some(4));
    }

    #[test]
    fn logo_and_images() {
        let p = page(vec![
            ctx(c("link", "Home"), &["banner"]),
            ctx(c("img", "Acme logo"), &["banner", "link Home"]),
            ctx(c("img", "Hero photo"), &["main"]),
        ]);
        assert_eq!(top("logo", &p), Some(1));
        assert_eq!(top("logo in the header", &p), Some(1));
        assert_eq!(top("hero image", &p), Some(2));
        assert_eq!(ids("image", &p).len(), 2);
    }

    #[test]
    fn menu_word_matches_menu_button() {
        let p = page(vec![
            c("button", "Menu"),
            c("button", "Cart"),
            c("link", "Home"),
        ]);
        assert_eq!(top("menu", &p), Some(0));
        assert_eq!(top("menu button", &p), Some(0));
        assert_eq!(top("hamburger menu", &p), Some(0));
    }

    #[test]
    fn landmarks_by_role() {
        let p = page(vec![
            c("banner", ""),
            c("navigation", "Main"),
            c("main", ""),
            c("contentinfo", ""),
            c("complementary", "Related"),
        ]);
        assert_eq!(top("header", &p), Some(0));
        assert_eq!(top("footer", &p), Some(3));
        assert_eq!(top("navigation", &p), Some(1));
        assert_eq!(top("menu bar", &p), Some(1));
        assert_eq!(top("sidebar", &p), Some(4));
    }

    #[test]
    fn table_rows_and_cells() {
        let p = page(vec![
            c("table", "Orders"),
            ctx(c("row", "Order 1001 shipped"), &["table Orders"]),
            ctx(c("row", "Order 1002 pending"), &["table Orders"]),
            ctx(
                c("cell", "pending"),
                &["table Orders", "row Order 1002 pending"],
            ),
        ]);
        assert_eq!(top("orders table", &p), Some(0));
        assert_eq!(top("second row", &p), Some(2));
        assert_eq!(top("pending cell", &p), Some(3));
        assert_eq!(top("row for order 1001", &p), Some(1));
    }

    #[test]
    fn value_and_description_fields() {
        let p = page(vec![
            desc(c("textbox", ""), "you@example.com"),
            Candidate {
                value: Some("United States".into()),
                ..c("combobox", "Region")
            },
        ]);
        assert_eq!(top("united states dropdown", &p), Some(1));
        assert_eq!(top("example", &p), Some(0));
    }

    #[test]
    fn plurals_match() {
        let p = page(vec![c("link", "Shoes"), c("link", "Shirts")]);
        assert_eq!(top("shirt link", &p), Some(1));
        assert_eq!(top("shoe", &p), Some(0));
    }

    #[test]
    fn leading_verbs_are_ignored() {
        let p = login_page();
        assert_eq!(top("click on the log in button", &p), Some(7));
        assert_eq!(top("go to sign up", &p), Some(1));
        assert_eq!(top("find the password field", &p), Some(4));
        assert_eq!(top("type into the email box", &p), Some(3));
    }

    #[test]
    fn unicode_is_handled() {
        let p = page(vec![
            c("combobox", "Größe"),
            c("button", "Jetzt kaufen 🛒"),
            c("textbox", "Straße"),
        ]);
        assert_eq!(top("größe", &p), Some(0));
        assert_eq!(top("kaufen", &p), Some(1));
        assert_eq!(top("strase", &p), Some(2));
        assert!(rank("🛒", &p).is_empty());
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let p = page(vec![
            c("button", "Ｆｕｌｌｗｉｄｔｈ"),
            c("link", "e\u{301}te\u{301} İstanbul ǅ"),
            c("textbox", &"x".repeat(300)),
            desc(c("textbox", ""), "🙂🙂🙂"),
            ctx(c("button", ""), &["", "   ", "ß"]),
        ]);
        for q in [
            "\"",
            "\"\"",
            "\"add to cart button",
            "'",
            "it's the 'ok' button",
            "«» “” ‘’",
            "1st 2nd 3rd 99th 0th last first",
            "second to",
            "next to",
            "İstanbul",
            "ｆｕｌｌｗｉｄｔｈ",
            &"y".repeat(500),
            "a b c d e f g h i j k l m n o p q r s t u v w x y z",
            "🙂 button",
        ] {
            let r = rank(q, &p);
            for &(i, s) in &r {
                assert!(i < p.len() && (0.0..=1.0).contains(&s), "{q}");
            }
        }
        assert_eq!(top("ｆｕｌｌｗｉｄｔｈ button", &p), Some(0));
    }

    #[test]
    fn quoted_phrase_after_preposition_qualifies() {
        let p = page(vec![
            near(c("button", "Remove"), "Red shirt"),
            near(c("button", "Remove"), "Blue shirt"),
        ]);
        assert_eq!(top("remove button next to \"Blue shirt\"", &p), Some(1));
        assert_eq!(top("delete for 'red shirt'", &p), Some(0));
    }

    #[test]
    fn scores_in_range_and_sorted() {
        let p = login_page();
        for q in [
            "password",
            "sign in button",
            "second link",
            "\"Forgot password?\"",
            "email field in the log in form",
            "heading",
            "link",
        ] {
            let r = rank(q, &p);
            assert!(!r.is_empty(), "{q}");
            for w in r.windows(2) {
                assert!(w[0].1 >= w[1].1, "{q}: {r:?}");
            }
            for &(i, s) in &r {
                assert!(i < p.len());
                assert!((THRESHOLD..=1.0).contains(&s), "{q}: {s}");
            }
        }
    }

    #[test]
    fn ties_broken_by_document_order() {
        let mut p = vec![c("button", "Buy"), c("button", "Buy"), c("button", "Buy")];
        p[0].order = 2;
        p[1].order = 0;
        p[2].order = 1;
        assert_eq!(ids("buy", &p), vec![1, 2, 0]);
    }

    #[test]
    fn deterministic() {
        let p = login_page();
        for q in ["password", "sign in", "first link", "log in form"] {
            assert_eq!(rank(q, &p), rank(q, &p));
        }
    }

    #[test]
    fn threshold_excludes_unrelated_roles() {
        let p = login_page();
        let r = ids("email field", &p);
        assert_eq!(r[0], 3);
        assert!(!r.contains(&6), "checkbox returned: {r:?}");
        assert!(!r.contains(&0), "link returned: {r:?}");
    }

    #[test]
    fn osa_distance() {
        assert_eq!(osa("email", "emial", 1), Some(1));
        assert_eq!(osa("email", "email", 1), Some(0));
        assert_eq!(osa("email", "mail", 1), Some(1));
        assert_eq!(osa("kitten", "sitting", 2), None);
        assert_eq!(osa("kitten", "sitting", 3), Some(3));
        assert_eq!(osa("notification", "notifcaton", 2), Some(2));
    }

    #[test]
    fn query_parsing() {
        let q = Query::parse("the search box in the header").unwrap();
        assert_eq!(q.target.as_ref().unwrap().intent, Intent::Search);
        assert_eq!(q.constraints.len(), 1);
        assert_eq!(q.constraints[0].intent, Intent::Banner);
        assert!(q.constraints[0].prep);
        assert!(q.terms.is_empty());

        let q = Query::parse("\"Add to cart\" button for the Blue shirt").unwrap();
        assert_eq!(q.target.as_ref().unwrap().intent, Intent::Button);
        assert_eq!(q.terms[0].kind, Kind::Phrase);
        assert_eq!(q.terms[0].texts, vec!["add", "to", "cart"]);
        assert_eq!(q.terms[1].kind, Kind::Qualifier);
        assert_eq!(q.terms[2].texts, vec!["shirt"]);

        let q = Query::parse("second to last radio button").unwrap();
        assert_eq!(q.ordinal, Some(Ordinal::FromEnd(2)));
        assert_eq!(q.target.as_ref().unwrap().intent, Intent::Radio);

        let q = Query::parse("sign in").unwrap();
        assert_eq!(q.terms.len(), 1);
        assert_eq!(q.terms[0].texts, vec!["sign", "in"]);
        assert!(q.target.is_none());

        assert!(Query::parse("  ").is_none());
    }

    /// 20,000 synthetic candidates; prints the timing (no timing assertion).
    #[test]
    fn twenty_thousand_candidates() {
        const N: usize = 20_000;
        const TARGET: usize = 13_457;
        let roles = [
            "button", "link", "textbox", "generic", "checkbox", "listitem",
        ];
        let mut p: Vec<Candidate> = (0..N)
            .map(|i| {
                let role = roles[i % roles.len()];
                let mut cand = c(role, &format!("Product {} details {}", i, i % 97));
                cand.nearby = format!("Item {} price ${}.99", i, i % 50);
                cand.description = (i % 3 == 0).then(|| "Opens the product page".to_string());
                cand.context = vec![
                    "main".to_string(),
                    format!("list Results page {}", i / 100),
                    format!("listitem Product {}", i),
                ];
                cand.order = i;
                cand
            })
            .collect();
        p[TARGET] = Candidate {
            role: "searchbox".into(),
            name: "Search catalog".into(),
            description: Some("Search products".into()),
            context: vec!["banner".into(), "search".into()],
            interactive: true,
            order: TARGET,
            ..Default::default()
        };
        p[TARGET + 1] = Candidate {
            role: "button".into(),
            name: "Log in".into(),
            context: vec!["banner".into()],
            interactive: true,
            order: TARGET + 1,
            ..Default::default()
        };

        let queries = [
            ("search box in the header", TARGET),
            ("sign in button", TARGET + 1),
            ("\"Product 19999 details\"", N - 1),
            ("prodcut 4242 detials button", 4242),
            ("Product 4243 details link", 4243),
            ("last checkbox", N - 4),
        ];
        for (q, expect) in queries {
            let t0 = std::time::Instant::now();
            let r = rank(q, &p);
            let dt = t0.elapsed();
            println!(
                "rank({q:?}) over {N} candidates: {:.2} ms, {} results",
                dt.as_secs_f64() * 1e3,
                r.len()
            );
            assert_eq!(r.first().map(|x| x.0), Some(expect), "{q}");
        }
    }

    #[test]
    fn results_by_place_and_symbols_by_meaning() {
        let mut p: Vec<Candidate> = (1..=10)
            .map(|i| {
                let mut c = c("link", &format!("Result title {i}"));
                c.item = i;
                c.order = i as usize;
                c
            })
            .collect();
        p.push(c("heading", "Search results"));
        p.push(c("link", "›"));
        p.push(c("link", "«"));
        p.push(c("button", "+"));
        let r = rank("the 9th search result", &p);
        assert_eq!(r.first().map(|x| x.0), Some(8), "{r:?}");
        let r = rank("next page", &p);
        assert_eq!(r.first().map(|x| x.0), Some(11), "{r:?}");
        let r = rank("first page", &p);
        assert_eq!(r.first().map(|x| x.0), Some(12), "{r:?}");
        let r = rank("plus button", &p);
        assert_eq!(r.first().map(|x| x.0), Some(13), "{r:?}");
    }
}
