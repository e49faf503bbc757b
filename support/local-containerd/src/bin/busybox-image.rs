//! `busybox-image OUT.tar`: writes the suite's busybox OCI image-layout tar (the images
//! `localhost/isolation-suite/busybox:latest` and `registry.k8s.io/pause:3.6`, from the host's
//! static busybox) for `ctr image import`, where no registry is reachable.

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        eprintln!("Error: usage: busybox-image OUT.tar");
        std::process::exit(1);
    };
    let out = std::path::PathBuf::from(out);
    if let Some(reason) = local_containerd::image::skip_reason() {
        eprintln!("Error: cannot build the image: {reason}");
        std::process::exit(1);
    }
    let tar = match local_containerd::image::image_tar() {
        Ok(tar) => tar,
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = std::fs::write(&out, tar) {
        eprintln!("Error: writing {}: {e}", out.display());
        std::process::exit(1);
    }
    println!(
        "{}: {} and {}",
        out.display(),
        local_containerd::image::IMAGE,
        local_containerd::image::PAUSE_IMAGE
    );
}
