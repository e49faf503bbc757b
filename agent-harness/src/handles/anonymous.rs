//! The host side of an `Anonymous` module: it only lives.

use module_abi::Kind;

use crate::instance::{CreateError, Instance, KindHandle};
use crate::table::KindTable;

/// An anonymous module instance; dropping it destroys the instance.
#[derive(Debug)]
pub struct AnonymousHandle {
    instance: Instance,
}

impl KindHandle for AnonymousHandle {
    const KIND: Kind = Kind::Anonymous;
    fn wrap(instance: Instance) -> Result<Self, CreateError> {
        let KindTable::Anonymous(_) = instance.table() else { return Err(instance.wrong_kind(Self::KIND)) };
        Ok(AnonymousHandle { instance })
    }
}

impl AnonymousHandle {
    /// The module's name.
    pub fn name(&self) -> &str {
        &self.instance.module().name
    }
}
