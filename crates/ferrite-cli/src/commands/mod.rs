//! One module per subcommand.

pub mod bench;
pub mod eval;
pub mod model;
pub mod train;
