//! One module per subcommand.

pub mod bench;
pub mod eval;
pub mod inputs;
pub mod model;
pub mod predict;
pub mod train;
