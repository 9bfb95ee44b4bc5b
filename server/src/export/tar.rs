//! The smallest tar writer that `tar`, `bsdtar` and Python's `tarfile`
//! read: POSIX ustar headers (512 bytes), each entry's bytes padded to
//! 512, two zero blocks at the end. No crate in the lock file writes tar,
//! and an entry header is 40 lines; names are ours (`messages-NNNNNN.jsonl`,
//! `files/<sha256>`), always ASCII and under ustar's 100 bytes.

/// Tar's unit: every header and every entry's padded bytes.
pub const BLOCK: usize = 512;

/// Largest size ustar's 11 octal digits hold (8 GiB - 1); beyond it the
/// size is written in the GNU base-256 form, which GNU tar, bsdtar and
/// Python all read.
const OCTAL_SIZE_MAX: u64 = (1 << 33) - 1;

/// The header of a regular file entry `name` of `size` bytes, modified at
/// `mtime` (seconds since 1970).
pub fn header(name: &str, size: u64, mtime: u64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let name = name.as_bytes();
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    if size <= OCTAL_SIZE_MAX {
        octal(&mut h[124..136], size);
    } else {
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    octal(&mut h[136..148], mtime.min(OCTAL_SIZE_MAX));
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[265..273].copy_from_slice(b"townhall");
    h[297..305].copy_from_slice(b"townhall");
    // The checksum is taken with its own field read as spaces.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let digits = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(digits.as_bytes());
    h
}

/// Zero bytes that bring an entry of `size` bytes to a whole block.
pub fn padding(size: u64) -> usize {
    let rest = (size % BLOCK as u64) as usize;
    if rest == 0 { 0 } else { BLOCK - rest }
}

/// The end of an archive: two zero blocks.
pub const END: [u8; 2 * BLOCK] = [0; 2 * BLOCK];

/// `value` as zero-padded octal filling the field but its last byte (NUL).
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let digits = format!("{value:0width$o}");
    let digits = digits.as_bytes();
    let start = digits.len().saturating_sub(width);
    field[..width].copy_from_slice(&digits[start..]);
    field[width] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_has_the_fields_tar_reads() {
        let h = header("files/abc", 1234, 1_700_000_000);
        assert_eq!(&h[..9], b"files/abc");
        assert_eq!(&h[124..136], b"00000002322\0");
        assert_eq!(&h[257..262], b"ustar");
        let mut blank = h;
        blank[148..156].copy_from_slice(b"        ");
        let sum: u32 = blank.iter().map(|b| u32::from(*b)).sum();
        let stored = std::str::from_utf8(&h[148..154]).expect("ascii");
        assert_eq!(u32::from_str_radix(stored, 8).expect("octal"), sum);
        assert_eq!(padding(1234), 1536 - 1234);
        assert_eq!(padding(1024), 0);
    }

    #[test]
    fn system_tar_lists_what_we_write() {
        let Ok(tar) = which_tar() else { return };
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.tar");
        let mut out = Vec::new();
        for (name, body) in [("one.jsonl", &b"{}\n"[..]), ("files/ab", &[7u8; 600][..])] {
            out.extend_from_slice(&header(name, body.len() as u64, 0));
            out.extend_from_slice(body);
            out.resize(out.len() + padding(body.len() as u64), 0);
        }
        out.extend_from_slice(&END);
        std::fs::write(&path, out).expect("write");
        let listed = std::process::Command::new(tar)
            .arg("-tf")
            .arg(&path)
            .output()
            .expect("tar");
        assert!(listed.status.success(), "{listed:?}");
        assert_eq!(
            String::from_utf8_lossy(&listed.stdout),
            "one.jsonl\nfiles/ab\n"
        );
    }

    fn which_tar() -> Result<&'static str, ()> {
        let ok = std::process::Command::new("tar")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if ok { Ok("tar") } else { Err(()) }
    }
}
