//! The terminal front end of `tabwright run`: the model's text streams to stdout, tool
//! activity and notices go to stderr, and questions are asked on the TTY (without a TTY they
//! are refused at once instead of hanging).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Answer, Ask, Event, Nobody, Person, Question, Unanswered};
use crate::BoxFuture;

/// Asks on the terminal (stdin must be a TTY).
pub struct TerminalPerson;

impl Person for TerminalPerson {
    fn ask<'a>(&'a self, ask: Ask) -> BoxFuture<'a, Result<Answer, Unanswered>> {
        Box::pin(async move {
            if !std::io::stdin().is_terminal() {
                return Nobody.ask(ask).await;
            }
            tokio::task::spawn_blocking(move || ask_blocking(&ask))
                .await
                .map_err(|e| Unanswered(format!("the prompt failed: {e}")))?
        })
    }
}

fn read_line() -> Result<String, Unanswered> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Unanswered(format!("cannot read the answer from the terminal: {e}")))?;
    Ok(line)
}

fn ask_blocking(ask: &Ask) -> Result<Answer, Unanswered> {
    let mut err = std::io::stderr().lock();
    if let Ask::Questions { questions } = ask {
        let mut answers = Vec::new();
        for q in questions {
            let _ = writeln!(err, "\n{}", q.question);
            for (i, o) in q.options.iter().enumerate() {
                let _ = writeln!(err, "  {}. {} {}", i + 1, o.label, o.description);
            }
            let _ = write!(
                err,
                "Answer (number{}, or your own words): ",
                if q.multi_select { "s" } else { "" }
            );
            let _ = err.flush();
            answers.push(parse_choice(q, &read_line()?));
        }
        return Ok(Answer::Answers { answers });
    }
    let _ = write!(
        err,
        "\n{}\nApprove? [y]es / [n]o (or type a reason to refuse): ",
        ask.prompt()
    );
    let _ = err.flush();
    Ok(parse_approval(&read_line()?))
}

/// Reads one terminal answer to an approval: `y`/`yes` approves; empty, `n`/`no` or any other
/// text refuses (other text is the reason given back to the model).
pub fn parse_approval(line: &str) -> Answer {
    let a = line.trim();
    match a.to_ascii_lowercase().as_str() {
        "y" | "yes" | "ok" | "approve" => Answer::Approve,
        "" | "n" | "no" => Answer::reject(""),
        _ => Answer::reject(a),
    }
}

/// Reads one terminal answer to `q`: option numbers (`2`, `1,3`) or free text.
pub fn parse_choice(q: &Question, line: &str) -> String {
    let line = line.trim();
    let picks: Option<Vec<usize>> = line
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .ok()
                .filter(|n| (1..=q.options.len()).contains(n))
        })
        .collect();
    match picks {
        Some(p) if !p.is_empty() && (q.multi_select || p.len() == 1) => p
            .iter()
            .map(|n| q.options[n - 1].label.clone())
            .collect::<Vec<_>>()
            .join(", "),
        _ => line.to_string(),
    }
}

/// Prints events: the model's text to stdout, the rest to stderr.
#[derive(Default)]
pub struct TerminalSink {
    streamed: AtomicBool,
}

impl super::EventSink for TerminalSink {
    fn emit(&self, event: Event) {
        match event {
            Event::TextDelta { text } => {
                self.streamed.store(true, Ordering::Relaxed);
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
            }
            Event::DiscardPartial => {
                if self.streamed.swap(false, Ordering::Relaxed) {
                    println!("\n[retrying: the text above is discarded]");
                }
            }
            Event::ToolStarted { name, args, .. } => {
                if self.streamed.swap(false, Ordering::Relaxed) {
                    println!();
                }
                let a: String = args.to_string().chars().take(160).collect();
                eprintln!("· {name} {a}");
            }
            Event::ToolFinished { ok, text, .. } => {
                if ok {
                    let first: String = text
                        .lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(160)
                        .collect();
                    eprintln!("  ✓ {first}");
                } else {
                    let e: String = text.chars().take(300).collect();
                    eprintln!("  ✗ {e}");
                }
            }
            Event::Notice { text } => eprintln!("tabwright: {text}"),
            Event::Files { paths } => {
                eprintln!("tabwright: files for you:");
                for p in paths {
                    eprintln!("  {p}");
                }
            }
            Event::Todo { items } => {
                eprintln!(
                    "tabwright: todo:\n{}",
                    super::protocol::render_todos(&items)
                );
            }
            Event::Ask { .. } | Event::Usage { .. } | Event::Ended { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::Choice;

    #[test]
    fn answers_from_the_terminal() {
        let q = Question {
            question: "Which size?".into(),
            header: String::new(),
            options: ["S", "M", "L"]
                .iter()
                .map(|l| Choice {
                    label: l.to_string(),
                    description: String::new(),
                })
                .collect(),
            multi_select: false,
        };
        assert_eq!(parse_choice(&q, "2"), "M");
        assert_eq!(
            parse_choice(&q, "1,3"),
            "1,3",
            "one pick only unless multiSelect"
        );
        assert_eq!(parse_choice(&q, "whatever fits"), "whatever fits");
        assert_eq!(parse_approval("y\n"), Answer::Approve);
        assert_eq!(parse_approval("\n"), Answer::reject(""));
        assert_eq!(
            parse_approval("not that site"),
            Answer::reject("not that site")
        );
    }
}
