//! Day 2: living with an installed cluster. Each operation is a plan run on the same engine as
//! the install (`engine::apply_plan`). `status_*`: the cluster view — a plan of read-only steps
//! (`status_plan`), the lines they print parsed into a report (`status`), what is wrong and the
//! action that fixes it (`status_checks`), the report as text (`status_text`), and the run that
//! gathers it (`gather`). `backup_*`: an etcd snapshot and the CAs copied to this machine;
//! `restore_*`: the whole control plane back to one.

pub mod add_plan;
pub mod add_run;
pub mod backup_plan;
pub mod backup_run;
pub mod backup_store;
pub mod backup_timer;
pub mod certs_plan;
pub mod gather;
pub mod inventory_edit;
pub mod remove_plan;
pub mod remove_run;
#[cfg(test)]
mod remove_tests;
pub mod reset_plan;
pub mod reset_run;
pub mod restore_plan;
pub mod restore_run;
pub mod status;
pub mod status_checks;
pub mod status_fixture;
pub mod status_plan;
#[cfg(test)]
mod status_tests;
pub mod status_text;
pub mod upgrade_plan;
pub mod upgrade_run;
#[cfg(test)]
mod upgrade_tests;

pub use gather::{gather_status, gather_status_trusting};
pub use status::ClusterStatus;
