//! File I/O for the file tools on paths already resolved and checked ([`super::paths::Roots`]):
//! every open refuses a symbolic link anywhere in the path (`openat2` with
//! `RESOLVE_NO_SYMLINKS`), and writes create folders and files relative to descriptors of
//! their parents. A folder a command swapped for a link between the check and the use (a race
//! run from the sandbox) then makes the call fail instead of sending a read or a write out of
//! the roots. The checked path is canonical, so a path with no link in it at the moment of the
//! open is the path that was checked.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

fn cstr(p: &Path) -> std::io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other)
}

/// The error for a link found on the way: what happened and what to do.
fn swapped(e: std::io::Error, path: &Path) -> std::io::Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::EXDEV) => std::io::Error::other(format!(
            "a link appeared in the path {} since it was checked (a command changed the folders meanwhile); nothing was read or written; try again",
            path.display()
        )),
        _ => e,
    }
}

/// `openat2(dirfd, path, flags, mode)` following no link; `dirfd` is `AT_FDCWD` for an
/// absolute path.
fn openat2(
    dirfd: libc::c_int,
    path: &Path,
    flags: libc::c_int,
    mode: u32,
) -> std::io::Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: open_how is plain data; all zero is its empty value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = if flags & libc::O_CREAT != 0 {
        u64::from(mode)
    } else {
        0
    };
    how.resolve = libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 with a valid dirfd (or AT_FDCWD), a C string and an open_how of the size
    // passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    } as libc::c_int;
    if fd < 0 {
        return Err(swapped(std::io::Error::last_os_error(), path));
    }
    // SAFETY: fd is a fresh descriptor owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens the checked file `real` for reading.
pub fn open_read(real: &Path) -> std::io::Result<File> {
    openat2(libc::AT_FDCWD, real, libc::O_RDONLY, 0).map(File::from)
}

/// Reads the whole checked file `real`.
pub fn read(real: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = open_read(real)?;
    let mut out = Vec::new();
    f.read_to_end(&mut out)?;
    Ok(out)
}

/// A descriptor of the checked folder `dir`, made (with its missing parents) when it does not
/// exist: each missing folder is made beneath the descriptor of its parent.
fn make_dirs(dir: &Path) -> std::io::Result<OwnedFd> {
    match openat2(libc::AT_FDCWD, dir, libc::O_DIRECTORY | libc::O_PATH, 0) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // The deepest folder that exists, then one level at a time.
    let mut missing = Vec::new();
    let mut cur = dir.to_path_buf();
    let mut fd = loop {
        let Some(name) = cur.file_name().map(|n| n.to_os_string()) else {
            return Err(std::io::Error::other(format!(
                "cannot make {}",
                dir.display()
            )));
        };
        missing.push(name);
        cur = match cur.parent() {
            Some(p) => p.to_path_buf(),
            None => {
                return Err(std::io::Error::other(format!(
                    "cannot make {}",
                    dir.display()
                )))
            }
        };
        match openat2(libc::AT_FDCWD, &cur, libc::O_DIRECTORY | libc::O_PATH, 0) {
            Ok(fd) => break fd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    };
    for name in missing.into_iter().rev() {
        let p = Path::new(&name);
        if !matches!(p.components().next(), Some(Component::Normal(_))) {
            return Err(std::io::Error::other(format!(
                "cannot make {}",
                dir.display()
            )));
        }
        let c = cstr(p)?;
        // SAFETY: mkdirat on a descriptor and a C string owned here.
        let r = unsafe { libc::mkdirat(fd.as_raw_fd(), c.as_ptr(), 0o755) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(e);
            }
        }
        fd = openat2(fd.as_raw_fd(), p, libc::O_DIRECTORY | libc::O_PATH, 0)?;
    }
    Ok(fd)
}

/// Replaces the checked file `real` with `bytes`: a temporary file made beside it through the
/// folder's descriptor, given the old file's permissions, renamed over it in the same folder.
pub fn replace(real: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = real
        .parent()
        .ok_or_else(|| std::io::Error::other("the path has no folder"))?;
    let name = real
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path has no file name"))?;
    let dirfd = make_dirs(dir)?;
    // A directory descriptor to create and rename in (O_PATH cannot be used for openat).
    let dirfd = openat2(
        dirfd.as_raw_fd(),
        Path::new("."),
        libc::O_DIRECTORY | libc::O_RDONLY,
        0,
    )?;
    let mut rnd = [0u8; 6];
    let _ = getrandom::fill(&mut rnd);
    let tag: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = format!(".{}.tabwright-{tag}", name.to_string_lossy());
    let (tmp_c, name_c) = (cstr(Path::new(&tmp))?, cstr(Path::new(name))?);
    // The old file's permissions, if there is one (not following a link).
    // SAFETY: stat is plain data; fstatat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstatat on a descriptor and a C string owned here, into a stat owned here.
    let had = unsafe {
        libc::fstatat(
            dirfd.as_raw_fd(),
            name_c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    } == 0;
    let mode = if had { st.st_mode & 0o7777 } else { 0o644 };
    let file = openat2(
        dirfd.as_raw_fd(),
        Path::new(&tmp),
        libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
        0o600,
    )?;
    let result = (|| {
        let mut f = File::from(file);
        f.write_all(bytes)?;
        f.sync_data()?;
        // SAFETY: fchmod on the descriptor of the file just made.
        if unsafe { libc::fchmod(f.as_raw_fd(), mode as libc::mode_t) } < 0 && had {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: renameat within one folder descriptor, C strings owned here.
        let r = unsafe {
            libc::renameat(
                dirfd.as_raw_fd(),
                tmp_c.as_ptr(),
                dirfd.as_raw_fd(),
                name_c.as_ptr(),
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    })();
    if result.is_err() {
        // SAFETY: unlinkat within the folder descriptor, C string owned here.
        unsafe {
            libc::unlinkat(dirfd.as_raw_fd(), tmp_c.as_ptr(), 0);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_anywhere_in_the_path_is_refused() {
        let base = std::env::temp_dir().join(format!("tw-nofollow-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("real/sub")).expect("dirs");
        std::fs::create_dir_all(base.join("outside")).expect("outside");
        std::fs::write(base.join("outside/secret"), "s").expect("secret");
        std::os::unix::fs::symlink(base.join("outside"), base.join("real/link")).expect("link");
        // Reads and writes through the link fail; nothing is written outside.
        let e = read(&base.join("real/link/secret")).expect_err("read through a link");
        assert!(e.to_string().contains("a link appeared"), "{e}");
        assert!(replace(&base.join("real/link/new"), b"x").is_err());
        assert!(replace(&base.join("real/link/deeper/new"), b"x").is_err());
        assert!(!base.join("outside/new").exists() && !base.join("outside/deeper").exists());
        // Plain paths work, folders are made, the mode is kept.
        replace(&base.join("real/a/b/c.txt"), b"hello").expect("write");
        assert_eq!(read(&base.join("real/a/b/c.txt")).expect("read"), b"hello");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            base.join("real/a/b/c.txt"),
            std::fs::Permissions::from_mode(0o750),
        )
        .expect("mode");
        replace(&base.join("real/a/b/c.txt"), b"again").expect("rewrite");
        let m = std::fs::metadata(base.join("real/a/b/c.txt")).expect("meta");
        assert_eq!(m.permissions().mode() & 0o7777, 0o750);
        let _ = std::fs::remove_dir_all(&base);
    }
}
