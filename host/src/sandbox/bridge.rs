//! The bridge inside a sandbox's network namespace: listens on the namespace's own loopback
//! (`127.0.0.1:PORT`, where `HTTP_PROXY` points) and carries each connection to the host's
//! egress proxy over a Unix socket mounted into the sandbox — the only way out. It runs the
//! sandboxed command as its child and exits with the command's status.
//!
//! Plain threads, no runtime: it starts in a few hundred microseconds.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `argv` with the bridge listening; returns the exit code to use.
pub fn run(socket: &Path, port: u16, argv: &[String]) -> i32 {
    let Some((prog, args)) = argv.split_first() else {
        eprintln!("tabwright sandbox-bridge: no command given");
        return 2;
    };
    // The namespace's loopback is down until something brings it up; bubblewrap does.
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tabwright sandbox-bridge: cannot listen on 127.0.0.1:{port}: {e}");
            return 2;
        }
    };
    let socket: PathBuf = socket.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let socket = socket.clone();
            std::thread::spawn(move || {
                if let Err(e) = carry(stream, &socket) {
                    eprintln!("tabwright sandbox-bridge: {e}");
                }
            });
        }
    });
    // The command gets no Unix socket of its own (the bridge keeps its own to the proxy).
    let filter = match super::kernel::unix_socket_filter() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("tabwright sandbox-bridge: cannot build the seccomp filter: {e}");
            return 2;
        }
    };
    let mut cmd = Command::new(prog);
    cmd.args(args);
    // SAFETY: the closure runs in the forked child before exec; it only makes the prctl and
    // seccomp system calls on a program built before the fork.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            // No allocation between fork and exec: the error is a plain errno.
            seccompiler::apply_filter(&filter)
                .map_err(|_| std::io::Error::from_raw_os_error(libc::EPERM))
        });
    }
    match cmd.status() {
        Ok(s) => s.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + s.signal().unwrap_or(0)
        }),
        Err(e) => {
            eprintln!("tabwright sandbox-bridge: cannot run {prog}: {e}");
            127
        }
    }
}

/// Copies both ways between a TCP client and a new connection to the proxy's socket.
fn carry(tcp: TcpStream, socket: &Path) -> io::Result<()> {
    let unix = UnixStream::connect(socket)?;
    let (mut t_read, mut u_write) = (tcp.try_clone()?, unix.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = io::copy(&mut t_read, &mut u_write);
        let _ = u_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut u_read, mut t_write) = (unix, tcp);
    let _ = io::copy(&mut u_read, &mut t_write);
    let _ = t_write.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
    Ok(())
}
