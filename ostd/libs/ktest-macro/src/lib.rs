//! `#[ktest]`: marks a function as an in-kernel unit test.
//!
//! The test is compiled only when the crate's `ktest` feature is on. It is
//! registered by placing a descriptor in the `.ktest_array` link section; the
//! linker script gathers the section between `__ktest_array_start` and
//! `__ktest_array_end`, and `ostd::ktest::run_all` walks it. This needs no
//! unstable features (unlike `custom_test_frameworks`).

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{ItemFn, parse_macro_input};

/// Registers a `fn()` as an in-kernel unit test. A test fails by panicking;
/// with `#[ktest(should_panic)]` it fails unless it panics.
#[proc_macro_attribute]
pub fn ktest(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = attr.to_string();
    let should_panic = match attr.trim() {
        "" => false,
        "should_panic" => true,
        other => {
            let msg = format!("unknown ktest option `{other}` (expected `should_panic`)");
            return quote! { compile_error!(#msg); }.into();
        }
    };
    let func = parse_macro_input!(item as ItemFn);
    let name = &func.sig.ident;
    let desc = format_ident!("__KTEST_DESC_{}", name.to_string().to_uppercase());
    let expanded = quote! {
        #[cfg(feature = "ktest")]
        #func

        #[cfg(feature = "ktest")]
        #[used]
        #[unsafe(link_section = ".ktest_array")]
        static #desc: ::ostd::ktest::KtestItem = ::ostd::ktest::KtestItem {
            name: concat!(module_path!(), "::", stringify!(#name)),
            func: #name,
            should_panic: #should_panic,
        };
    };
    expanded.into()
}
