//! The C header describes the same layout as the Rust definitions: a C program built with the
//! system `cc` prints every struct's size and every field's offset, and each must match Rust's.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::Path;
use std::process::Command;

use module_abi::*;

/// `(c expression, rust value)` pairs: `sizeof(struct x)` and `offsetof(struct x, field)`.
fn rust_layout() -> Vec<(String, usize)> {
    let mut out = Vec::new();
    macro_rules! layout {
        ($c:literal, $rust:ty, [$($field:ident),*]) => {
            out.push((format!("sizeof(struct {})", $c), size_of::<$rust>()));
            $( out.push((format!("offsetof(struct {}, {})", $c, stringify!($field)), offset_of!($rust, $field))); )*
        };
    }
    layout!("mm_output", Output, [context, write]);
    layout!("mm_table_header", TableHeader, [size, reserved]);
    layout!(
        "mm_module_descriptor",
        ModuleDescriptor,
        [
            magic,
            size,
            abi_version,
            kind,
            built_against,
            author_name,
            author_email,
            description,
            compatible,
            create,
            destroy,
            table,
            required_features
        ]
    );
    layout!(
        "mm_isolator_table",
        IsolatorTable,
        [
            header,
            recover,
            prepare,
            isolate,
            watch,
            limitation,
            update,
            usage,
            status,
            cleanup,
            supports_nesting,
            supports_standalone
        ]
    );
    layout!(
        "mm_containerizer_table",
        ContainerizerTable,
        [header, recover, launch, exec, watch, wait, destroy, status]
    );
    layout!("mm_anonymous_table", AnonymousTable, [header]);
    layout!("mm_test_module_table", TestModuleTable, [header, foo, bar, baz, parameters]);
    out
}

/// Compiles a program printing every layout expression and constant with `compiler`, runs it,
/// and checks each against Rust.
fn check_with(compiler: &str, language: &[&str]) {
    let layout = rust_layout();
    let dir = tempfile::tempdir().unwrap();
    let mut program = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"mesos_module.h\"\nint main(void) {\n",
    );
    for (expr, _) in &layout {
        program.push_str(&format!("  printf(\"%s=%zu\\n\", \"{expr}\", (size_t){expr});\n"));
    }
    program.push_str(concat!(
        "  printf(\"magic=%llu\\n\", (unsigned long long)MM_MODULE_MAGIC);\n",
        "  printf(\"abi=%u\\n\", MM_ABI_VERSION);\n",
        "  printf(\"features=%llu\\n\", (unsigned long long)MM_KNOWN_FEATURES);\n",
        "  printf(\"status=%d,%d\\n\", MM_STATUS_OK, MM_STATUS_ERROR);\n",
        "  printf(\"version=%s\\n\", MM_MODULE_ABI_VERSION);\n",
        "  return 0;\n}\n",
    ));
    let source = dir.path().join("layout.c");
    let binary = dir.path().join("layout");
    std::fs::write(&source, program).unwrap();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let status = Command::new(compiler)
        .args(language)
        .args(["-Wall", "-Werror", "-I"])
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .status()
        .unwrap_or_else(|e| panic!("the system compiler `{compiler}` runs (install gcc and g++): {e}"));
    assert!(status.success(), "{compiler} failed to compile the header");
    let printed = Command::new(&binary).output().unwrap();
    let printed = String::from_utf8(printed.stdout).unwrap();
    let c: BTreeMap<&str, &str> = printed.lines().filter_map(|l| l.split_once('=')).collect();
    for (expr, rust) in &layout {
        assert_eq!(
            c.get(expr.as_str()).copied(),
            Some(rust.to_string().as_str()),
            "{expr}: {compiler} vs Rust"
        );
    }
    assert_eq!(c["magic"], MODULE_MAGIC.to_string());
    assert_eq!(c["abi"], ABI_VERSION.to_string());
    assert_eq!(c["features"], KNOWN_FEATURES.to_string());
    assert_eq!(c["status"], format!("{STATUS_OK},{STATUS_ERROR}"));
    assert_eq!(c["version"], MODULE_ABI_VERSION, "MM_MODULE_ABI_VERSION in the header");
}

#[test]
fn c_header_matches_the_rust_layout() {
    check_with("cc", &["-std=c11"]);
}

#[test]
fn the_header_compiles_as_cpp_with_the_same_layout() {
    check_with("c++", &["-x", "c++", "-std=c++20"]);
}
