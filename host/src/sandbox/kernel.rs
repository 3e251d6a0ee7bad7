//! The fallback sandbox, where bubblewrap cannot run: the command confines itself with the
//! kernel's own mechanisms before it starts — Landlock (file access, TCP ports, signals) and
//! seccomp (sockets, namespaces, mounts, kernel keys) — and drops every capability.
//!
//! The host runs `tabwright sandbox-exec --plan FILE -- COMMAND…` ([`exec_main`]): that fresh,
//! single-threaded process reads the [`Plan`], restricts itself, then `exec`s the command, which
//! inherits the restrictions and cannot lift them. Compared with bubblewrap it has no private
//! `/tmp`, process table or network namespace, so it hides instead: `/tmp`, `/var/tmp`, `/run`
//! and `/dev/shm` are not readable (the command gets a `TMPDIR` of its own), other processes
//! cannot be signalled or traced (Landlock scopes), no socket can be opened (no talking to the
//! Docker daemon; no network at all: Landlock checks TCP ports, not addresses, so a proxy could
//! not be the only way out), only the null, zero, full and random devices are reachable, and
//! file modes cannot be changed (Landlock does not cover `chmod`; a root host would otherwise
//! let the command change any root-owned file's mode). Landlock cannot make a path read-only
//! inside a writable folder, so the write-protected names of the workspace are guarded by
//! [`super::guard`] instead (restored after the command).
//!
//! `sandbox-exec` stays as the command's parent, a child subreaper inside the sandbox: when
//! the command ends it kills every process left in the sandbox (the signal scope confines
//! `kill(-1)` to them), so a daemon started with `setsid` does not outlive its command even
//! where the host cannot make cgroups.
//!
//! Needs Landlock ABI 6 (Linux 6.12) for the signal scope; below that [`probe`] says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
};

use super::SandboxError;

/// `fchmodat2(2)` (Linux 6.6; the same number on x86_64 and aarch64).
const FCHMODAT2: i64 = 452;

/// `setxattrat(2)` and `removexattrat(2)` (Linux 6.13; the same numbers on x86_64 and
/// aarch64).
const SETXATTRAT: i64 = 463;
const REMOVEXATTRAT: i64 = 466;

/// The Landlock ABI the fallback needs (Linux 6.12: signal and abstract-socket scopes).
pub const MIN_ABI: i32 = 6;

/// What the command may reach, written by the host for `sandbox-exec`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// Folders the command may change (the workspace, added folders, its own temp folder).
    pub writable: Vec<PathBuf>,
    /// Folders it may read besides the system (skills folders).
    pub readable: Vec<PathBuf>,
    /// Paths it may never read, not even inside a granted folder (the user's secrets).
    pub secrets: Vec<PathBuf>,
    /// System places it may not read (other programs' temp files and sockets) unless a granted
    /// folder lies inside them.
    pub private: Vec<PathBuf>,
}

/// The kernel's Landlock ABI version, when it is at least [`MIN_ABI`]; otherwise why not.
pub fn probe() -> Result<i32, SandboxError> {
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) only returns
    // the ABI version (or an error); it takes no memory from us.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    if v < 0 {
        let e = std::io::Error::last_os_error();
        return Err(SandboxError(format!(
            "Landlock is not available in this kernel ({e}): it needs Linux 5.13+ built with \
             CONFIG_SECURITY_LANDLOCK and `landlock` in the `lsm=` boot list"
        )));
    }
    let v = i32::try_from(v).unwrap_or(0);
    if v < MIN_ABI {
        return Err(SandboxError(format!(
            "this kernel's Landlock (ABI {v}) cannot keep a command from signalling other \
             processes; the fallback needs ABI {MIN_ABI} (Linux 6.12 or newer)"
        )));
    }
    Ok(v)
}

/// `tabwright sandbox-exec --plan FILE -- COMMAND…`: confines this process as the plan says,
/// then becomes the command. Returns only on failure (the exit code to use); nothing runs
/// unconfined.
pub fn exec_main(args: Vec<String>) -> i32 {
    let mut plan = None;
    let mut it = args.into_iter();
    let mut command = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--plan" => plan = it.next(),
            "--" => {
                command = it.collect();
                break;
            }
            other => {
                eprintln!("tabwright sandbox-exec: unknown argument {other:?}");
                return 2;
            }
        }
    }
    let Some(plan) = plan else {
        eprintln!("tabwright sandbox-exec: --plan FILE is needed");
        return 2;
    };
    let plan: Plan = match std::fs::read(&plan)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tabwright sandbox-exec: cannot read the plan {plan}: {e}");
            return 2;
        }
    };
    let Some((prog, rest)) = command.split_first() else {
        eprintln!("tabwright sandbox-exec: no command given");
        return 2;
    };
    if let Err(e) = confine(&plan) {
        eprintln!("tabwright sandbox-exec: cannot confine the command, so it did not run: {e}");
        return 126;
    }
    // SAFETY: prctl and sigaction on this single-threaded process; the handler only makes
    // async-signal-safe calls (kill, _exit).
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_term as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGHUP, &sa, std::ptr::null_mut());
        // The host's death ends the sandbox too (SIGTERM, so the handler can clean up).
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
    }
    let child = match std::process::Command::new(prog).args(rest).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tabwright sandbox-exec: cannot run {prog}: {e}");
            return 127;
        }
    };
    let code = reap(child.id() as libc::pid_t);
    // Whatever the command left running (daemons, `setsid` jobs, orphans reparented here):
    // the signal scope limits kill(-1) to this sandbox's processes.
    // SAFETY: kill and waitpid on this process's own descendants.
    unsafe {
        libc::kill(-1, libc::SIGKILL);
        while libc::waitpid(-1, std::ptr::null_mut(), 0) > 0 {}
    }
    code
}

/// Waits for `main` to end, reaping every other descendant that ends meanwhile; its exit code
/// (128 + the signal when killed).
fn reap(main: libc::pid_t) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return 1;
        }
        if pid == main {
            if libc::WIFEXITED(status) {
                return libc::WEXITSTATUS(status);
            }
            if libc::WIFSIGNALED(status) {
                return 128 + libc::WTERMSIG(status);
            }
        }
    }
}

/// SIGTERM/SIGHUP (the host stopping the command, or gone): kill everything in the sandbox,
/// then end.
extern "C" fn on_term(_sig: libc::c_int) {
    // SAFETY: async-signal-safe calls only.
    unsafe {
        libc::kill(-1, libc::SIGKILL);
        libc::_exit(143);
    }
}

/// Applies the whole confinement to this process: a session of its own, no capabilities,
/// Landlock, seccomp.
pub fn confine(plan: &Plan) -> Result<(), String> {
    // SAFETY: setsid(2) on this single-threaded process; failure (already a leader) is fine.
    unsafe {
        libc::setsid();
    }
    drop_capabilities()?;
    landlock(plan)?;
    seccomp()?;
    Ok(())
}

/// Drops every capability for good (run by root, the command would otherwise keep them, and
/// regain them on exec).
fn drop_capabilities() -> Result<(), String> {
    // SAFETY: prctl and capset on this process with values prepared here.
    unsafe {
        if libc::geteuid() == 0 {
            // SECBIT_NOROOT | NOROOT_LOCKED | NO_SETUID_FIXUP | its lock | KEEP_CAPS_LOCKED.
            let bits: libc::c_ulong = 0x01 | 0x02 | 0x04 | 0x08 | 0x20;
            if libc::prctl(libc::PR_SET_SECUREBITS, bits, 0, 0, 0) != 0 {
                return Err(format!("securebits: {}", std::io::Error::last_os_error()));
            }
        }
        let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<libc::c_ulong>().ok())
            .unwrap_or(40);
        for cap in 0..=last {
            // Fails without CAP_SETPCAP (not root): then the set is already empty.
            libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        }
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        let mut h = Header {
            version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
            pid: 0,
        };
        let d = [Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        if libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()) != 0 {
            return Err(format!("capset: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// The Landlock rules: read everywhere but the hidden paths, write in the writable folders,
/// a few devices, TCP connect only to the proxy, no signals or abstract sockets out of the
/// sandbox.
fn landlock(plan: &Plan) -> Result<(), String> {
    let abi = ABI::V6;
    let all = AccessFs::from_all(abi);
    let read = AccessFs::from_read(abi);
    let err = |e: landlock::RulesetError| e.to_string();
    let mut rs = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(all)
        .map_err(err)?
        .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
        .map_err(err)?
        .scope(Scope::Signal | Scope::AbstractUnixSocket)
        .map_err(err)?
        .create()
        .map_err(err)?;
    let hidden: Vec<PathBuf> = plan.secrets.iter().chain(&plan.private).cloned().collect();
    let mut readable = Vec::new();
    grant_except(Path::new("/"), &hidden, &mut readable);
    for p in &plan.readable {
        grant_except(p, &plan.secrets, &mut readable);
    }
    let mut writable = Vec::new();
    for p in &plan.writable {
        grant_except(p, &plan.secrets, &mut writable);
    }
    let mut out: Vec<(PathBuf, landlock::BitFlags<AccessFs>)> =
        readable.into_iter().map(|p| (p, read)).collect();
    out.extend(writable.into_iter().map(|p| (p, all)));
    for dev in [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
    ] {
        out.push((PathBuf::from(dev), AccessFs::from_file(abi)));
    }
    for (p, access) in out {
        let Ok(fd) = PathFd::new(&p) else {
            continue; // gone meanwhile: nothing to grant
        };
        let is_dir = std::fs::metadata(&p).is_ok_and(|m| m.is_dir());
        let access = if is_dir {
            access
        } else {
            access & AccessFs::from_file(abi)
        };
        rs = rs
            .add_rule(PathBeneath::new(fd, access))
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let status = rs.restrict_self().map_err(err)?;
    if status.ruleset != RulesetStatus::FullyEnforced || !status.no_new_privs {
        return Err(format!(
            "Landlock is only partly enforced here ({status:?})"
        ));
    }
    Ok(())
}

/// Collects the paths to grant so that everything under `dir` is covered except `hidden`:
/// `dir` itself when nothing hidden is inside it, else each of its entries the same way.
/// Symbolic links are skipped (access is checked on what they point to).
fn grant_except(dir: &Path, hidden: &[PathBuf], out: &mut Vec<PathBuf>) {
    if hidden.iter().any(|h| dir.starts_with(h)) {
        return;
    }
    if !hidden.iter().any(|h| h.starts_with(dir)) {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        grant_except(&e.path(), hidden, out);
    }
}

/// The seccomp filters: no sockets (a stream `socketpair` between the command's own
/// processes stays), no namespaces, mounts, mode changes, file watches on what it may not
/// read, kernel keyrings, BPF, io_uring (which would bypass the socket rule) or kernel
/// modules.
/// The filter the bubblewrap backend puts on a command: no Unix socket of its own
/// (`socket(AF_UNIX, …)`) and no datagram or raw socketpair (a datagram pair can `sendto` any
/// named socket). The network namespace already cuts every other family off; Unix sockets are
/// reached by path, and a host folder the sandbox can see (read-only) may hold one — a
/// container runtime's, a session bus. A stream `socketpair` between the command's own
/// processes stays allowed. Returns the program as bytes (`struct sock_filter` array), as
/// `bwrap --seccomp FD` reads it, or the network bridge installs it on the command it runs.
pub fn unix_socket_filter() -> Result<seccompiler::BpfProgram, String> {
    let arch: seccompiler::TargetArch = std::env::consts::ARCH
        .try_into()
        .map_err(|e| format!("seccomp: {e:?}"))?;
    let cond = |arg: u8, op: SeccompCmpOp, v: u64| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, v).map_err(|e| e.to_string())
    };
    let rule = |c: Vec<SeccompCondition>| SeccompRule::new(c).map_err(|e| e.to_string());
    let mut deny: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    deny.insert(
        libc::SYS_socket,
        vec![rule(vec![cond(
            0,
            SeccompCmpOp::Eq,
            libc::AF_UNIX as u64,
        )?])?],
    );
    deny.insert(libc::SYS_socketpair, socketpair_rules()?);
    SeccompFilter::new(
        deny,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .and_then(|f| f.try_into())
    .map_err(|e: seccompiler::BackendError| e.to_string())
}

/// The bytes of a program, as `bwrap --seccomp FD` reads them.
pub fn program_bytes(p: &seccompiler::BpfProgram) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len() * 8);
    for f in p {
        out.extend_from_slice(&f.code.to_ne_bytes());
        out.push(f.jt);
        out.push(f.jf);
        out.extend_from_slice(&f.k.to_ne_bytes());
    }
    out
}

/// The socketpair types a command may not make: a datagram, raw or seqpacket pair can
/// `sendto` any named socket; a stream pair stays allowed.
fn socketpair_rules() -> Result<Vec<SeccompRule>, String> {
    [libc::SOCK_DGRAM, libc::SOCK_RAW, libc::SOCK_SEQPACKET]
        .into_iter()
        .map(|t| {
            let c = SeccompCondition::new(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::MaskedEq(0xf),
                t as u64,
            )
            .map_err(|e| e.to_string())?;
            SeccompRule::new(vec![c]).map_err(|e| e.to_string())
        })
        .collect()
}

/// `FS_IOC_SETFLAGS` (`_IOW('f', 2, long)`), its 32-bit form and `FS_IOC_FSSETXATTR`.
const FS_IOC_SETFLAGS: u64 = 0x4008_6602;
const FS_IOC32_SETFLAGS: u64 = 0x4004_6602;
const FS_IOC_FSSETXATTR: u64 = 0x401c_5820;

fn seccomp() -> Result<(), String> {
    let arch: seccompiler::TargetArch = std::env::consts::ARCH
        .try_into()
        .map_err(|e| format!("seccomp: {e:?}"))?;
    let cond = |arg: u8, op: SeccompCmpOp, v: u64| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, v).map_err(|e| e.to_string())
    };
    let rule = |c: Vec<SeccompCondition>| SeccompRule::new(c).map_err(|e| e.to_string());
    let mut deny: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    deny.insert(libc::SYS_socket, vec![]);
    // A datagram socketpair can still send to any named socket (sendto with an address).
    deny.insert(libc::SYS_socketpair, socketpair_rules()?);
    // New namespaces through clone(2) flags.
    let ns = (libc::CLONE_NEWNS
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWCGROUP) as u64;
    let mut clone_rules = Vec::new();
    for bit in (0..32).map(|b| 1u64 << b).filter(|b| ns & b != 0) {
        clone_rules.push(rule(vec![cond(0, SeccompCmpOp::MaskedEq(bit), bit)?])?);
    }
    deny.insert(libc::SYS_clone, clone_rules);
    for sys in [
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_open_tree,
        libc::SYS_move_mount,
        libc::SYS_fsopen,
        libc::SYS_fsmount,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_kexec_load,
        libc::SYS_userfaultfd,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_fchmod,
        libc::SYS_fchmodat,
        FCHMODAT2,
        libc::SYS_inotify_add_watch,
        libc::SYS_fanotify_init,
        // Extended attributes carry ACLs (a mode change by another name) and Landlock does not
        // cover them.
        libc::SYS_setxattr,
        libc::SYS_lsetxattr,
        libc::SYS_fsetxattr,
        libc::SYS_removexattr,
        libc::SYS_lremovexattr,
        libc::SYS_fremovexattr,
        SETXATTRAT,
        REMOVEXATTRAT,
    ] {
        deny.insert(sys, vec![]);
    }
    // Owners and groups, like modes, are not covered by Landlock: a command could strip the
    // setuid bit of any binary (a chown clears it) or regroup files in hidden folders.
    for sys in [libc::SYS_fchown, libc::SYS_fchownat] {
        deny.insert(sys, vec![]);
    }
    #[cfg(target_arch = "x86_64")]
    for sys in [libc::SYS_chmod, libc::SYS_chown, libc::SYS_lchown] {
        deny.insert(sys, vec![]);
    }
    // Inode flags (chattr: immutable, append-only, no-dump …) through ioctl, on any file the
    // command can open for reading.
    let mut ioctl_rules = Vec::new();
    for req in [FS_IOC_SETFLAGS, FS_IOC32_SETFLAGS, FS_IOC_FSSETXATTR] {
        ioctl_rules.push(rule(vec![cond(1, SeccompCmpOp::Eq, req)?])?);
    }
    deny.insert(libc::SYS_ioctl, ioctl_rules);
    let build = |rules, errno: i32| -> Result<seccompiler::BpfProgram, String> {
        SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            arch,
        )
        .and_then(|f| f.try_into())
        .map_err(|e: seccompiler::BackendError| e.to_string())
    };
    let main = build(deny, libc::EPERM)?;
    // clone3 passes its flags in memory seccomp cannot read: report it missing, so libc falls
    // back to clone(2), whose flags are checked above.
    let clone3 = build(BTreeMap::from([(libc::SYS_clone3, vec![])]), libc::ENOSYS)?;
    seccompiler::apply_filter(&main).map_err(|e| e.to_string())?;
    seccompiler::apply_filter(&clone3).map_err(|e| e.to_string())?;
    Ok(())
}
