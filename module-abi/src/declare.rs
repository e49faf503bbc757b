//! `declare_module!`: the one macro a module author writes. It exports the symbol named after the
//! module with a descriptor whose slots are the generic shims of this crate, so all unsafe glue
//! lives here and none in the author's crate.

/// Exports a module.
///
/// ```ignore
/// module_abi::declare_module! {
///     name: org_example_NoopIsolator,      // the exported symbol = the module's name
///     kind: Isolator,                      // Isolator | Containerizer | Anonymous | TestModule
///     module: NoopIsolator,                // a type implementing `Module` and the kind's trait
///     author_name: "Example",
///     author_email: "dev@example.org",
///     description: "Isolates nothing.",
///     // optional: a veto beside the version rule, told about the host
///     compatible: |host: &module_abi::HostInfo| host.kind_version("Isolator").is_some(),
/// }
/// ```
///
/// A module crate built with `panic = "abort"` does not compile through this macro: a panic in
/// the module would then abort the whole host, where the ABI promises it fails only its call.
#[macro_export]
macro_rules! declare_module {
    (
        name: $name:ident,
        kind: $kind:ident,
        module: $ty:ty,
        author_name: $author_name:literal,
        author_email: $author_email:literal,
        description: $description:literal
        $(, compatible: $compatible:expr)?
        $(,)?
    ) => {
        #[cfg(panic = "abort")]
        ::core::compile_error!(
            "module-abi: this module is built with `panic = \"abort\"`, so a panic in it would abort the host; modules must unwind (remove `panic = \"abort\"` from the crate's profile)"
        );

        #[unsafe(no_mangle)]
        #[allow(non_upper_case_globals)]
        pub static $name: $crate::ModuleDescriptor = $crate::ModuleDescriptor {
            magic: $crate::MODULE_MAGIC,
            size: ::core::mem::size_of::<$crate::ModuleDescriptor>() as u32,
            abi_version: $crate::ABI_VERSION,
            kind: $crate::Kind::$kind.c_name().as_ptr(),
            built_against: $crate::BUILT_AGAINST.as_ptr(),
            author_name: ::core::concat!($author_name, "\0").as_ptr().cast(),
            author_email: ::core::concat!($author_email, "\0").as_ptr().cast(),
            description: ::core::concat!($description, "\0").as_ptr().cast(),
            compatible: $crate::__compatible_slot!($($compatible)?),
            create: ::core::option::Option::Some($crate::module::create::<$ty>),
            destroy: ::core::option::Option::Some($crate::module::destroy::<$ty>),
            table: $crate::__kind_table!($kind, $ty),
            required_features: 0,
        };
    };
}

/// The `compatible` slot of [`declare_module!`]: none, or a shim around a `fn(&HostInfo) -> bool`.
#[doc(hidden)]
#[macro_export]
macro_rules! __compatible_slot {
    () => {
        ::core::option::Option::None
    };
    ($compatible:expr) => {{
        unsafe extern "C" fn __module_compatible(
            host_info: *const u8,
            host_info_len: usize,
            output: *const $crate::Output,
        ) -> i32 {
            // SAFETY: the host passes a readable request and a null or live output, as
            // `CompatibleFn` requires.
            unsafe { $crate::module::compatible(host_info, host_info_len, output, $compatible) }
        }
        ::core::option::Option::Some(__module_compatible)
    }};
}

/// The kind table of [`declare_module!`], as a pointer to a static.
#[doc(hidden)]
#[macro_export]
macro_rules! __kind_table {
    (Isolator, $ty:ty) => { $crate::__kind_table!(@static $crate::IsolatorTable, $ty) };
    (Containerizer, $ty:ty) => { $crate::__kind_table!(@static $crate::ContainerizerTable, $ty) };
    (Anonymous, $ty:ty) => { $crate::__kind_table!(@static $crate::AnonymousTable, $ty) };
    (TestModule, $ty:ty) => { $crate::__kind_table!(@static $crate::TestModuleTable, $ty) };
    (@static $table:ty, $ty:ty) => {{
        static TABLE: $table = <$table>::of::<$ty>();
        (&TABLE as *const $table).cast::<::core::ffi::c_void>()
    }};
}
