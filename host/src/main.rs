//! The `tabwright` binary: see [`tabwright::cli`].

fn main() -> std::process::ExitCode {
    tabwright::cli::main()
}
