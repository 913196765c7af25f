//! The client's public operations by name, one list: spans name them
//! (`db.operation.name`) and metrics prepare each one's attribute sets by
//! its index. Below both, so neither imports the other.

/// Every public operation's name (`db.operation.name`), in one list:
/// metrics prepare each operation's attribute sets once, by its index here.
pub(crate) const OPERATIONS: [&str; 29] = [
    "get",
    "gets",
    "gat",
    "gats",
    "get_many",
    "gets_many",
    "set",
    "add",
    "replace",
    "append",
    "prepend",
    "cas",
    "set_many",
    "delete",
    "delete_many",
    "incr",
    "decr",
    "touch",
    "stats",
    "version",
    "flush_all",
    "verbosity",
    "quit",
    "meta_get",
    "meta_set",
    "meta_delete",
    "meta_arithmetic",
    "meta_debug",
    "meta_pipeline",
];

/// An operation, as its index in [`OPERATIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Operation(usize);

impl Operation {
    /// The operation called `name`; evaluated at compile time by
    /// `op_span!` ([`crate::trace`]), so a name missing from [`OPERATIONS`] does not build.
    pub const fn named(name: &str) -> Operation {
        let mut i = 0;
        while i < OPERATIONS.len() {
            if same(OPERATIONS[i].as_bytes(), name.as_bytes()) {
                return Operation(i);
            }
            i += 1;
        }
        panic!("an operation missing from trace::OPERATIONS");
    }

    /// Its index in [`OPERATIONS`].
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub fn index(self) -> usize {
        self.0
    }
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
