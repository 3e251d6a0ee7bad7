//! The words and characters the rules read labels by: risky words in English, German, French,
//! Spanish, Italian, Dutch, Portuguese, Polish and Swedish, and the folding that reads a label
//! as a person sees it (full-width forms, invisible characters, Latin lookalikes).

/// Text as a reader sees it, for matching words: full-width forms to ASCII, invisible
/// characters (zero-width, soft hyphen, direction marks) dropped, and Cyrillic and Greek letters
/// that look like Latin ones read as those (`Plаce оrder` with Cyrillic а and о).
pub fn fold(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let c = match c {
                '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
                '\u{3000}' => ' ',
                '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{feff}' => return None,
                '\u{00a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' => ' ',
                _ => c,
            };
            Some(match c {
                'а' | 'А' | 'α' | 'Α' => 'a',
                'в' | 'В' | 'β' | 'Β' => 'b',
                'с' | 'С' | 'ϲ' => 'c',
                'ԁ' => 'd',
                'е' | 'Е' | 'ε' | 'Ε' => 'e',
                'һ' | 'Н' | 'Η' => 'h',
                'і' | 'І' | 'ι' | 'Ι' => 'i',
                'ј' | 'Ј' => 'j',
                'к' | 'К' | 'κ' | 'Κ' => 'k',
                'М' | 'Μ' => 'm',
                'п' | 'ո' => 'n',
                'о' | 'О' | 'ο' | 'Ο' | 'σ' => 'o',
                'р' | 'Р' | 'ρ' | 'Ρ' => 'p',
                'ԛ' => 'q',
                'ѕ' | 'Ѕ' => 's',
                'т' | 'Т' | 'τ' | 'Τ' => 't',
                'υ' | 'ս' => 'u',
                'ν' => 'v',
                'ѡ' | 'ԝ' => 'w',
                'х' | 'Х' | 'χ' | 'Χ' => 'x',
                'у' | 'У' | 'γ' | 'Υ' => 'y',
                'ᴢ' | 'Ζ' => 'z',
                other => other,
            })
        })
        .collect()
}

pub(super) fn has_word(hay: &str, words: &[&str]) -> bool {
    let hay = fold(hay).to_lowercase();
    words.iter().any(|w| {
        let mut from = 0;
        while let Some(i) = hay[from..].find(w) {
            let s = from + i;
            let e = s + w.len();
            let before = hay[..s].chars().next_back();
            let after = hay[e..].chars().next();
            let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
            if boundary(before) && boundary(after) {
                return true;
            }
            from = e;
        }
        false
    })
}

pub(super) const DELETE_WORDS: &[&str] = &[
    "delete",
    "remove",
    "erase",
    "destroy",
    "deactivate",
    "close account",
    "close my account",
    "discard",
    "trash",
    "wipe",
    "purge",
    "🗑",
    "🗑️",
    // German, French, Spanish, Italian, Dutch, Portuguese, Polish, Swedish
    "löschen",
    "entfernen",
    "konto löschen",
    "supprimer",
    "effacer",
    "retirer",
    "eliminar",
    "borrar",
    "quitar",
    "elimina",
    "eliminare",
    "cancella",
    "rimuovi",
    "verwijderen",
    "wissen",
    "excluir",
    "apagar",
    "remover",
    "usuń",
    "usun",
    "skasuj",
    "ta bort",
    "radera",
];
pub(super) const PURCHASE_WORDS: &[&str] = &[
    "buy",
    "buy now",
    "purchase",
    "checkout",
    "check out",
    "place order",
    "place your order",
    "confirm order",
    "complete order",
    "complete purchase",
    "order now",
    "pay",
    "pay now",
    "payment",
    "subscribe",
    "donate",
    "upgrade now",
    "kaufen",
    "jetzt kaufen",
    "bestellen",
    "zahlungspflichtig bestellen",
    "zur kasse",
    "bezahlen",
    "abonnieren",
    "acheter",
    "commander",
    "payer",
    "passer la commande",
    "valider la commande",
    "s'abonner",
    "comprar",
    "pagar",
    "realizar pedido",
    "finalizar compra",
    "suscribirse",
    "acquista",
    "compra",
    "paga",
    "ordina",
    "procedi all'acquisto",
    "abbonati",
    "kopen",
    "nu kopen",
    "afrekenen",
    "betalen",
    "assinar",
    "kup",
    "kup teraz",
    "zamów",
    "zamow",
    "zapłać",
    "zaplac",
    "köp",
    "köp nu",
    "beställ",
    "betala",
];
pub(super) const SEND_WORDS: &[&str] = &[
    "send",
    "post",
    "publish",
    "tweet",
    "share",
    "reply",
    "submit review",
    "post comment",
    "comment",
    "invite",
    "broadcast",
    "senden",
    "absenden",
    "veröffentlichen",
    "teilen",
    "antworten",
    "posten",
    "envoyer",
    "publier",
    "partager",
    "répondre",
    "enviar",
    "publicar",
    "compartir",
    "responder",
    "invia",
    "pubblica",
    "condividi",
    "rispondi",
    "verzenden",
    "versturen",
    "publiceren",
    "delen",
    "beantwoorden",
    "compartilhar",
    "wyślij",
    "wyslij",
    "opublikuj",
    "udostępnij",
    "odpowiedz",
    "skicka",
    "publicera",
    "dela",
    "svara",
];
pub(super) const SIGNUP_WORDS: &[&str] = &[
    "sign up",
    "signup",
    "create account",
    "create an account",
    "create my account",
    "register",
    "join now",
    "open account",
    "registrieren",
    "konto erstellen",
    "s'inscrire",
    "inscription",
    "créer un compte",
    "registrarse",
    "crear cuenta",
    "crear una cuenta",
    "registrati",
    "crea account",
    "registreren",
    "account aanmaken",
    "cadastrar",
    "criar conta",
    "zarejestruj",
    "załóż konto",
    "registrera",
    "skapa konto",
];
pub(super) const DOWNLOAD_EXTS: &[&str] = &[
    ".zip", ".exe", ".msi", ".dmg", ".pkg", ".deb", ".rpm", ".apk", ".tar", ".gz", ".tgz", ".7z",
    ".rar", ".iso", ".bin", ".pdf", ".csv", ".xlsx", ".docx",
];
