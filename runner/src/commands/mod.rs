//! One module per subcommand: each reads its inputs, calls the layers below in
//! order, and decides how the command ended. Nothing below imports these.

pub mod build;
pub mod compare;
pub mod doctor;
pub mod expect;
pub mod history;
pub mod inspect;
pub mod merge;
pub mod native;
pub mod run;
pub mod serve;
