//! The one image of the containerd tests and bench, built here because no registry is reachable:
//! the host's static busybox with a link per applet, `/etc/passwd` and `/etc/group`, as one layer. It is
//! written as an OCI image-layout tar holding two images of that layer, [`IMAGE`] (`sh`) and
//! [`PAUSE_IMAGE`] (`sleep infinity`, the CRI's sandbox image), for `ctr image import`.
//!
//! The build is deterministic (fixed times, owners and order), so the same busybox gives the same
//! digests; the tar is cached under the build directory, keyed by the busybox binary.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Error;

/// The test image's name.
pub const IMAGE: &str = "localhost/isolation-suite/busybox:latest";

/// The CRI sandbox ("pause") image containerd 1.6 asks for by default, made from the same layer.
pub const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.6";

/// Where the static busybox comes from (Debian's `busybox-static`).
pub const BUSYBOX: &str = "/bin/busybox";

/// Bumped whenever the image's content or layout changes, so a cached tar is rebuilt.
const FORMAT: &str = "isolation-suite busybox image 1";

/// Every entry's modification time (2020-01-01), so the layer's digest depends on content only.
const MTIME: u64 = 1_577_836_800;

/// The media types of OCI image-spec 1.0.
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// Why the image cannot be built here: no busybox, or one that needs a dynamic loader (a
/// container's root holds nothing but busybox).
pub fn skip_reason() -> Option<String> {
    let bytes = match std::fs::read(BUSYBOX) {
        Ok(bytes) => bytes,
        Err(e) => return Some(format!("no busybox at {BUSYBOX} ({e}); install busybox-static")),
    };
    match has_interpreter(&bytes) {
        Some(false) => None,
        Some(true) => Some(format!("{BUSYBOX} is dynamically linked; install busybox-static")),
        None => Some(format!("{BUSYBOX} is not a 64-bit ELF executable")),
    }
}

/// Whether a 64-bit little-endian ELF file has a `PT_INTERP` program header (`None`: not one).
fn has_interpreter(elf: &[u8]) -> Option<bool> {
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let u16_at = |at: usize| elf.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let phoff = usize::try_from(u64::from_le_bytes(elf.get(0x20..0x28)?.try_into().ok()?)).ok()?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    const PT_INTERP: u32 = 3;
    let mut interp = false;
    for i in 0..phnum {
        let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
        let kind = u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?);
        interp |= kind == PT_INTERP;
    }
    Some(interp)
}

/// The applets busybox links to itself (`busybox --list`).
fn applets() -> Result<Vec<String>, Error> {
    let out = std::process::Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .map_err(Error::io(format!("{BUSYBOX} --list")))?;
    if !out.status.success() {
        return Err(Error::Image(format!("{BUSYBOX} --list: {}", out.status)));
    }
    let mut applets: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
        .map(str::to_owned)
        .collect();
    applets.sort();
    applets.dedup();
    Ok(applets)
}

/// One file of the root file system.
enum Entry {
    Dir { mode: u32 },
    File { mode: u32, data: Vec<u8> },
    Symlink { target: &'static str },
}

/// The root file system, path by path (relative, parents first, sorted).
fn rootfs_entries() -> Result<Vec<(String, Entry)>, Error> {
    let busybox = std::fs::read(BUSYBOX).map_err(Error::io(format!("read {BUSYBOX}")))?;
    let mut entries = Vec::new();
    for dir in ["bin", "dev", "etc", "proc", "root", "run", "sys", "usr", "var"] {
        entries.push((dir.to_owned(), Entry::Dir { mode: 0o755 }));
    }
    entries.push(("tmp".to_owned(), Entry::Dir { mode: 0o1777 }));
    entries.push(("bin/busybox".to_owned(), Entry::File { mode: 0o755, data: busybox }));
    for applet in applets()? {
        entries.push((format!("bin/{applet}"), Entry::Symlink { target: "busybox" }));
    }
    let passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
    let group = "root:x:0:\nnogroup:x:65534:\n";
    entries.push(("etc/passwd".to_owned(), Entry::File { mode: 0o644, data: passwd.into() }));
    entries.push(("etc/group".to_owned(), Entry::File { mode: 0o644, data: group.into() }));
    // Resolved binaries are looked up in /usr/bin and /sbin too.
    entries.push(("sbin".to_owned(), Entry::Symlink { target: "bin" }));
    entries.push(("usr/bin".to_owned(), Entry::Symlink { target: "../bin" }));
    entries.push(("usr/sbin".to_owned(), Entry::Symlink { target: "../bin" }));
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// A tar header with the fixed owner and time.
fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(MTIME);
    header
}

/// The layer: the root file system as a tar.
fn layer() -> Result<Vec<u8>, Error> {
    let mut tar = tar::Builder::new(Vec::new());
    let e = Error::io("building the layer");
    for (path, entry) in rootfs_entries()? {
        match entry {
            Entry::Dir { mode } => {
                let mut h = header(tar::EntryType::Directory, mode, 0);
                tar.append_data(&mut h, format!("{path}/"), std::io::empty()).map_err(&e)?;
            }
            Entry::File { mode, data } => {
                let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
                tar.append_data(&mut h, &path, data.as_slice()).map_err(&e)?;
            }
            Entry::Symlink { target } => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0);
                tar.append_link(&mut h, &path, target).map_err(&e)?;
            }
        }
    }
    tar.into_inner().map_err(&e)
}

/// Writes the root file system into `dir` (for a spec whose `root.path` is a directory).
pub fn write_rootfs(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let e = |path: &Path, e: std::io::Error| Error::Io { what: path.display().to_string(), source: e };
    std::fs::create_dir_all(dir).map_err(|err| e(dir, err))?;
    for (path, entry) in rootfs_entries()? {
        let path = dir.join(path);
        match entry {
            Entry::Dir { mode } => {
                std::fs::create_dir_all(&path).map_err(|err| e(&path, err))?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(|err| e(&path, err))?;
            }
            Entry::File { mode, data } => {
                std::fs::write(&path, data).map_err(|err| e(&path, err))?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(|err| e(&path, err))?;
            }
            Entry::Symlink { target } => {
                std::os::unix::fs::symlink(target, &path).map_err(|err| e(&path, err))?;
            }
        }
    }
    Ok(())
}

/// `sha256:<hex>` of some bytes.
fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The image's architecture in the OCI (Go) spelling.
fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The OCI image-layout tar with both images.
pub fn image_tar() -> Result<Vec<u8>, Error> {
    let layer = layer()?;
    let layer_digest = digest(&layer);
    let mut blobs: Vec<(String, Vec<u8>)> = vec![(layer_digest.clone(), layer.clone())];
    let mut manifests = Vec::new();
    let env = json!(["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);
    let images = [
        (IMAGE, json!({"Env": env, "Cmd": ["sh"], "WorkingDir": "/"})),
        (PAUSE_IMAGE, json!({"Env": env, "Entrypoint": ["/bin/sleep", "infinity"], "WorkingDir": "/"})),
    ];
    for (name, config) in images {
        let config = json!({
            "architecture": architecture(),
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        });
        let config = serde_json::to_vec(&config)?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, "digest": digest(&config), "size": config.len()},
            "layers": [{"mediaType": LAYER, "digest": layer_digest, "size": layer.len()}],
        });
        let manifest = serde_json::to_vec(&manifest)?;
        let tag = name.rsplit_once(':').map_or("latest", |(_, tag)| tag);
        manifests.push(json!({
            "mediaType": MANIFEST,
            "digest": digest(&manifest),
            "size": manifest.len(),
            "platform": {"architecture": architecture(), "os": "linux"},
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag},
        }));
        blobs.push((digest(&config), config));
        blobs.push((digest(&manifest), manifest));
    }
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
    let index = serde_json::to_vec(&index)?;

    let mut tar = tar::Builder::new(Vec::new());
    let e = Error::io("building the image tar");
    let file = |tar: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]| {
        let mut h = header(tar::EntryType::Regular, 0o644, data.len() as u64);
        tar.append_data(&mut h, path, data).map_err(&e)
    };
    file(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    file(&mut tar, "index.json", &index)?;
    for dir in ["blobs/", "blobs/sha256/"] {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        tar.append_data(&mut h, dir, std::io::empty()).map_err(&e)?;
    }
    blobs.sort_by(|a, b| a.0.cmp(&b.0));
    blobs.dedup_by(|a, b| a.0 == b.0);
    for (digest, data) in &blobs {
        let name = digest.trim_start_matches("sha256:");
        file(&mut tar, &format!("blobs/sha256/{name}"), data)?;
    }
    tar.into_inner().map_err(&e)
}

/// The image tar, built once per busybox and kept in `cache_dir` (`busybox-<key>.tar`, written
/// to a temp name and renamed, so parallel tests never read a half-written one).
pub fn cached_image_tar(cache_dir: &Path) -> Result<PathBuf, Error> {
    let busybox = std::fs::read(BUSYBOX).map_err(Error::io(format!("read {BUSYBOX}")))?;
    let mut key = Sha256::new();
    key.update(FORMAT.as_bytes());
    key.update(&busybox);
    let key = hex(&key.finalize()[..8]);
    let path = cache_dir.join(format!("busybox-{key}.tar"));
    if path.is_file() {
        return Ok(path);
    }
    std::fs::create_dir_all(cache_dir).map_err(Error::io(cache_dir.display().to_string()))?;
    let temp = cache_dir.join(format!(".busybox-{key}.tar.{}", std::process::id()));
    let tar = image_tar()?;
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&tar)?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::Io { what: format!("writing {}", path.display()), source: e }
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_is_deterministic_and_complete() {
        if skip_reason().is_some() {
            return;
        }
        let a = image_tar().unwrap();
        assert_eq!(a, image_tar().unwrap(), "two builds differ");
        let mut archive = tar::Archive::new(a.as_slice());
        let names: Vec<String> =
            archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert!(names.contains(&"oci-layout".to_owned()) && names.contains(&"index.json".to_owned()));
        // One layer, two configs, two manifests.
        assert_eq!(names.iter().filter(|n| n.starts_with("blobs/sha256/") && n.len() > 13).count(), 5);
    }

    #[test]
    fn a_dynamic_binary_has_an_interpreter() {
        let own = std::fs::read("/proc/self/exe").unwrap();
        assert_eq!(has_interpreter(&own), Some(true));
        assert_eq!(has_interpreter(b"#!/bin/sh\n"), None);
    }
}
