//! The host side of an `Anonymous` module: it only lives.

use module_abi::{AnonymousTable, Kind};

use crate::instance::{Instance, KindHandle};

/// An anonymous module instance; dropping it destroys the instance.
#[derive(Debug)]
pub struct AnonymousHandle {
    instance: Instance,
}

impl KindHandle for AnonymousHandle {
    const KIND: Kind = Kind::Anonymous;
    fn wrap(instance: Instance) -> Result<Self, String> {
        let _: AnonymousTable = instance.table()?;
        Ok(AnonymousHandle { instance })
    }
}

impl AnonymousHandle {
    /// The module's name.
    pub fn name(&self) -> &str {
        &self.instance.module().name
    }
}
